import Checkpoints
import Foundation
import TestSupport
import Testing

/// config.json against the weights for layouts other than `model.layers.<i>`, and layers of a second stack that
/// are not the decoder's.
@Suite("Checkpoint: config.json sizes and per-layer lists against the weights")
struct ConfigConsistencyTests {
    /// The problems `inspect` would list for a checkpoint with `config` and F32 tensors `tensors`.
    static func problems(_ config: [String: Any], _ tensors: [(String, [Int])]) throws -> [String] {
        let model = try ModelDirectoryBuilder(makeTemporaryDirectory("consistency"), config: config)
        try model.write("model.safetensors", tensors)
        return try Checkpoint(directory: model.directory, validation: .collect).problems.map(\.description)
    }

    /// A vision tower's `…encoder.layers.<i>` beside the decoder's `model.layers.<i>`: only the decoder's count.
    @Test func anotherStackOfLayersIsNotCounted() throws {
        let config: [String: Any] = [
            "model_type": "llama", "num_hidden_layers": 2, "hidden_size": 2, "vocab_size": 3,
            "tie_word_embeddings": true, "layer_types": ["full_attention", "full_attention"],
        ]
        let tensors: [(String, [Int])] =
            [("model.embed_tokens.weight", [3, 2])] + (0..<2).map { ("model.layers.\($0).mlp.up_proj.weight", [2, 2]) }
            + (0..<5).map { ("vision_tower.encoder.layers.\($0).fc.weight", [2, 2]) }
        #expect(try Self.problems(config, tensors).isEmpty)
    }

    /// Falcon keeps `num_hidden_layers` but stores its layers as `transformer.h.<i>`; its embedding is
    /// `transformer.word_embeddings.weight`.
    @Test func falconLayoutIsChecked() throws {
        let config: [String: Any] = [
            "model_type": "falcon", "num_hidden_layers": 3, "hidden_size": 2, "vocab_size": 4,
        ]
        let tensors: [(String, [Int])] =
            [("transformer.word_embeddings.weight", [3, 2])]
            + (0..<2).map { ("transformer.h.\($0).mlp.dense_h_to_4h.weight", [2, 2]) }
        let problems = try Self.problems(config, tensors)
        #expect(problems.count == 2, "\(problems)")
        #expect(problems.contains { $0.contains("says num_hidden_layers = 3, but the weights hold layers 0…1") })
        let rows = "tensor 'transformer.word_embeddings.weight': has 3 rows, but config.json says vocab_size = 4"
        #expect(problems.contains { $0.contains(rows) })
    }
}
