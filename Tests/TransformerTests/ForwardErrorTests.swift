import Checkpoints
import Foundation
import Testing
import Transformer

@Suite("Forward pass refuses bad input")
struct ForwardErrorTests {
    static func checkpoint(_ set: String, _ model: String = "base") throws -> Checkpoint {
        try Checkpoint(directory: ReferenceSet.directory.appendingPathComponent(set).appendingPathComponent(model))
    }

    @Test("token ids outside the vocabulary", arguments: [-1, 64, 1000])
    func tokenOutOfRange(id: Int) throws {
        let model = try CausalLanguageModel(checkpoint: Self.checkpoint("qwen2-gqa"))
        let error = try #require(throws: TransformerError.self) { try model.forward([3, 5, id, 7]) }
        #expect(error.kind == .tokenOutOfRange)
        #expect(error.description.contains("\(id)") && error.description.contains("position 2"), "\(error)")
    }

    @Test("a prompt longer than max_position_embeddings, and an empty prompt")
    func promptLength() throws {
        let model = try CausalLanguageModel(checkpoint: Self.checkpoint("qwen2-gqa"))
        _ = try model.forward([Int](repeating: 1, count: 32), logits: .last)  // exactly the limit is fine
        let tooLong = try #require(throws: TransformerError.self) {
            try model.forward([Int](repeating: 1, count: 33))
        }
        #expect(tooLong.kind == .badPromptLength && tooLong.description.contains("max_position_embeddings"))
        let empty = try #require(throws: TransformerError.self) { try model.forward([]) }
        #expect(empty.kind == .badPromptLength)
    }

    @Test("a prompt longer than an active sliding window is computed with the window")
    func slidingWindow() throws {
        let checkpoint = try Self.checkpoint("qwen2-gqa")
        let full = try CausalLanguageModel(checkpoint: checkpoint)
        var config = try TransformerConfig(checkpoint.config)
        config.slidingWindow = 4
        let windowed = try CausalLanguageModel(config: config, weights: CheckpointWeights(checkpoint))
        let prompt = [1, 2, 3, 4, 5, 6]
        let expected = try full.forward(prompt)
        let output = try windowed.forward(prompt)
        // Positions 0…3 see at most 4 keys: the window changes nothing there; positions 4 and 5 lose keys 0 and 1.
        #expect(maxAbsoluteDifference(output.logits[0..<(4 * 64)], expected.logits[0..<(4 * 64)]) <= 1e-5)
        #expect(maxAbsoluteDifference(output.logits(at: 5), expected.logits(at: 5)) > 1e-2)
    }

    @Test("weights that do not fit the config are named")
    func missingAndMisshapenTensors() throws {
        let checkpoint = try Self.checkpoint("llama-bias")
        let config = try TransformerConfig(checkpoint.config)
        var deeper = config
        deeper.layerCount = 3
        let missing = try #require(throws: TransformerError.self) {
            try CausalLanguageModel(config: deeper, weights: CheckpointWeights(checkpoint))
        }
        #expect(missing.kind == .missingTensor && missing.description.contains("model.layers.2.input_layernorm.weight"))
        var wider = config
        wider.intermediateSize = 50
        let misshapen = try #require(throws: TransformerError.self) {
            try CausalLanguageModel(config: wider, weights: CheckpointWeights(checkpoint))
        }
        #expect(misshapen.kind == .shapeMismatch && misshapen.description.contains("mlp.gate_proj.weight"))
    }

    @Test("a coefficient vector must have one finite entry per task model")
    func coefficients() throws {
        let base = try Self.checkpoint("qwen2-gqa")
        let task = try Self.checkpoint("qwen2-gqa", "task_a")
        let count = try #require(throws: TransformerError.self) {
            try CombinedWeights(base: base, tasks: [task], coefficients: [0.5, 0.5])
        }
        #expect(count.kind == .badCoefficients)
        let nan = try #require(throws: TransformerError.self) {
            try CombinedWeights(base: base, tasks: [task], coefficients: [.nan])
        }
        #expect(nan.kind == .badCoefficients)
    }

    @Test("base and task tensors of different shapes are refused when combined")
    func familyShapeMismatch() throws {
        let base = try Self.checkpoint("qwen2-gqa")
        let other = try Self.checkpoint("llama-bias")
        let weights = try CombinedWeights(base: base, tasks: [other], coefficients: [0.5])
        let error = try #require(throws: TransformerError.self) {
            _ = try weights.load("model.layers.0.self_attn.q_proj.weight")
        }
        #expect(error.kind == .shapeMismatch && error.description.contains("q_proj"))
    }
}
