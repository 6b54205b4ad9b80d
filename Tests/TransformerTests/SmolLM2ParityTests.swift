import Checkpoints
import Foundation
import TestSupport
import Testing
import Transformer

/// A real pretrained model through the batched forward pass: SmolLM2-135M (`make smollm2` → `.cache/smollm2-135m`,
/// or the directory in `METAMERGE_SMOLLM2`), three prompts of different lengths in one batch, against transformers'
/// float32 logits of each prompt on its own (scripts/fixtures/make_smollm2_references.py: every position at 8 fixed
/// vocabulary ids, and the last position's 5 largest logits). Skipped, with a message, when the checkpoint is absent.
///
/// Tolerance: 30 layers of float32 with logits of magnitude ~20; summation order differs between OpenBLAS and
/// PyTorch's kernels, so differences of a few 1e-5 relative to the logits' scale are rounding — 1e-3 absolute.
@Suite("SmolLM2-135M matches transformers")
struct SmolLM2ParityTests {
    struct Prompt: Decodable {
        let ids: [Int]
        let logits_at_ids: [[Float]]
        let last_top_ids: [Int]
        let last_top_logits: [Float]
    }

    struct References: Decodable {
        let model_sha256: String
        let vocabulary_ids: [Int]
        let prompts: [Prompt]
    }

    static let directory: URL = {
        if let path = ProcessInfo.processInfo.environment["METAMERGE_SMOLLM2"] { return URL(fileURLWithPath: path) }
        return RepositoryPaths.root.appendingPathComponent(".cache/smollm2-135m")
    }()

    static var isAvailable: Bool {
        FileManager.default.fileExists(atPath: directory.appendingPathComponent("model.safetensors").path)
    }

    static let tolerance: Float = 1e-3

    @Test(
        "ragged prompts batched",
        .enabled(if: isAvailable, "no SmolLM2 checkpoint (run `make smollm2` or set METAMERGE_SMOLLM2=<dir>)"))
    func batchedLogitsMatchTransformers() throws {
        let url = RepositoryPaths.fixtures.appendingPathComponent("transformer/smollm2-references.json")
        let references = try JSONDecoder().decode(References.self, from: Data(contentsOf: url))
        let model = try CausalLanguageModel(checkpoint: Checkpoint(directory: Self.directory))
        #expect(model.outputProjectionName == "model.embed_tokens.weight", "SmolLM2 ties its embeddings")
        let prompts = references.prompts.map(\.ids)
        #expect(Set(prompts.map(\.count)).count == prompts.count, "the prompts should be ragged")
        let outputs = try model.forward(batch: prompts)
        let V = model.config.vocabularySize
        var worst: Float = 0
        for (q, (output, reference)) in zip(outputs, references.prompts).enumerated() {
            for position in 0..<reference.ids.count {
                for (k, id) in references.vocabulary_ids.enumerated() {
                    let difference = abs(output.logits[position * V + id] - reference.logits_at_ids[position][k])
                    worst = max(worst, difference)
                    #expect(
                        difference <= Self.tolerance, "prompt \(q) position \(position) id \(id): Δ = \(difference)")
                }
            }
            let last = Array(output.logits(at: reference.ids.count - 1))
            let top = last.indices.sorted { last[$0] > last[$1] }.prefix(5)
            #expect(Array(top) == reference.last_top_ids, "prompt \(q): top-5 ids")
            for (id, value) in zip(reference.last_top_ids, reference.last_top_logits) {
                #expect(abs(last[id] - value) <= Self.tolerance, "prompt \(q) last position id \(id)")
                worst = max(worst, abs(last[id] - value))
            }
        }
        print(
            "SmolLM2 parity: largest |Δlogit| = \(worst) (model sha256 in references: "
                + "\(references.model_sha256.prefix(12)))"
        )
    }
}
