import Checkpoints
import Foundation
import TestSupport
import Testing

@Suite("ModelFamily: alignment by tensor name")
struct ModelFamilyTests {
    /// A Llama config whose models store no lm_head: tied (LlamaForCausalLM's default is untied).
    static var tied: [String: Any] {
        [
            "architectures": ["LlamaForCausalLM"], "num_hidden_layers": 2, "tie_word_embeddings": true,
        ]
    }

    @Test func alignsAndReportsProblems() throws {
        let root = try makeTemporaryDirectory("family")
        let base = try ModelDirectoryBuilder(root.appendingPathComponent("base"), config: Self.tied)
        try base.write(
            "model.safetensors",
            [
                ("model.embed_tokens.weight", [4, 2]), ("model.layers.0.mlp.up_proj.weight", [2, 2]),
                ("model.layers.1.extra.weight", [3]), ("model.layers.1.mlp.up_proj.weight", [2, 3]),
            ])
        let task = try ModelDirectoryBuilder(root.appendingPathComponent("task"), config: Self.tied)
        try task.write(
            "model.safetensors",
            [
                ("model.embed_tokens.weight", [6, 2]), ("model.layers.0.mlp.up_proj.weight", [2, 2]),
                ("model.layers.1.mlp.up_proj.weight", [2, 3]),
            ], seed: 100)
        let family = try ModelFamily(
            base: Checkpoint(directory: base.directory),
            tasks: [.init(name: "t", checkpoint: Checkpoint(directory: task.directory))])
        #expect(
            family.tensors.map(\.name) == [
                "model.embed_tokens.weight", "model.layers.0.mlp.up_proj.weight", "model.layers.1.mlp.up_proj.weight",
            ])
        let embedding = family.tensors[0]
        #expect(embedding.shape == [4, 2])
        #expect(embedding.isTrimmed)
        #expect(family.problems.count == 2)
        let kinds = Dictionary(uniqueKeysWithValues: family.problems.map { ($0.name, $0.kind) })
        #expect(kinds["model.embed_tokens.weight"] == .vocabularyMismatch(rows: [4, 6], commonRows: 4))
        #expect(kinds["model.layers.1.extra.weight"] == .missing(models: ["t"]))
        var values = [Float](repeating: 0, count: 8)
        try values.withUnsafeMutableBufferPointer {
            try family.readFloat32(embedding, model: 1, elements: 0..<8, into: $0)
        }
        #expect(values == (100..<108).map(Float.init))
    }

    @Test func shapeMismatchBeyondTheVocabularyIsRefused() throws {
        let root = try makeTemporaryDirectory("family")
        let base = try ModelDirectoryBuilder(root.appendingPathComponent("base"))
        try base.write(
            "model.safetensors", [("model.layers.0.mlp.up_proj.weight", [2, 3]), ("model.layers.1.a", [2])])
        let task = try ModelDirectoryBuilder(root.appendingPathComponent("task"))
        try task.write(
            "model.safetensors", [("model.layers.0.mlp.up_proj.weight", [3, 2]), ("model.layers.1.a", [2])])
        let error = try #require(throws: CheckpointError.self) {
            try ModelFamily(
                base: Checkpoint(directory: base.directory),
                tasks: [.init(name: "t", checkpoint: Checkpoint(directory: task.directory))])
        }
        #expect(error.kind == .shapeMismatch)
        #expect(error.tensor == "model.layers.0.mlp.up_proj.weight")
        #expect(error.description.contains("base [2, 3]") && error.description.contains("t [3, 2]"))
    }

    @Test func architectureMismatchIsRefused() throws {
        let root = try makeTemporaryDirectory("family")
        let base = try ModelDirectoryBuilder(
            root.appendingPathComponent("base"), config: ["architectures": ["LlamaForCausalLM"], "model_type": "llama"])
        try base.write("model.safetensors", [("a.weight", [2])])
        let task = try ModelDirectoryBuilder(
            root.appendingPathComponent("task"), config: ["architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2"])
        try task.write("model.safetensors", [("a.weight", [2])])
        let error = try #require(throws: CheckpointError.self) {
            try ModelFamily(
                base: Checkpoint(directory: base.directory),
                tasks: [.init(name: "t", checkpoint: Checkpoint(directory: task.directory))])
        }
        #expect(error.kind == .badFamily)
        #expect(error.description.contains("qwen2") && error.description.contains("llama"))
    }

    @Test func tiedBaseServesLmHeadFromEmbedding() throws {
        let root = try makeTemporaryDirectory("family")
        let base = try ModelDirectoryBuilder(root.appendingPathComponent("base"), config: Self.tied)
        try base.write("model.safetensors", [("model.embed_tokens.weight", [3, 2])])
        let task = try ModelDirectoryBuilder(root.appendingPathComponent("task"))
        try task.write(
            "model.safetensors", [("model.embed_tokens.weight", [3, 2]), ("lm_head.weight", [3, 2])], seed: 50)
        let family = try ModelFamily(
            base: Checkpoint(directory: base.directory),
            tasks: [.init(name: "t", checkpoint: Checkpoint(directory: task.directory))])
        let lmHead = try #require(family.tensors.first { $0.name == "lm_head.weight" })
        var values = [Float](repeating: 0, count: 6)
        try values.withUnsafeMutableBufferPointer {
            try family.readFloat32(lmHead, model: 0, elements: 0..<6, into: $0)
        }
        #expect(values == (0..<6).map(Float.init))
        #expect(family.problems.isEmpty)
    }

    @Test func needsTasksWithDistinctNames() throws {
        let root = try makeTemporaryDirectory("family")
        let base = try ModelDirectoryBuilder(root.appendingPathComponent("base"))
        try base.write("model.safetensors", [("a.weight", [2])])
        let checkpoint = try Checkpoint(directory: base.directory)
        #expect(
            try #require(throws: CheckpointError.self) { try ModelFamily(base: checkpoint, tasks: []) }.kind
                == .badFamily)
        #expect(
            try #require(throws: CheckpointError.self) {
                try ModelFamily(
                    base: checkpoint,
                    tasks: [.init(name: "a", checkpoint: checkpoint), .init(name: "a", checkpoint: checkpoint)])
            }.kind == .badFamily)
    }
}
