import Checkpoints
import Foundation
import SafeTensors
import TestSupport
import Testing

@Suite("Checkpoint: a model directory")
struct CheckpointTests {
    @Test func singleFileWithTiedEmbeddingAndRotaryBufferDropped() throws {
        let dir = try makeTemporaryDirectory("ckpt")
        let model = try ModelDirectoryBuilder(
            dir,
            config: [
                "architectures": ["LlamaForCausalLM"], "tie_word_embeddings": true, "hidden_size": 4,
                "num_hidden_layers": 1, "vocab_size": 3,
            ])
        try model.write(
            "model.safetensors",
            [
                ("model.embed_tokens.weight", [3, 4]), ("model.layers.0.self_attn.rotary_emb.inv_freq", [2]),
                ("model.layers.0.mlp.up_proj.weight", [2, 4]),
            ])
        let checkpoint = try Checkpoint(directory: dir)
        #expect(checkpoint.tensorNames == ["model.embed_tokens.weight", "model.layers.0.mlp.up_proj.weight"])
        #expect(checkpoint.lmHeadIsTied)
        #expect(checkpoint.parameterCount == 20)
        #expect(checkpoint.config.hiddenSize == 4)
        #expect(checkpoint.config.architectures == ["LlamaForCausalLM"])
        #expect(try checkpoint.readFloat32("model.layers.0.mlp.up_proj.weight") == (0..<8).map(Float.init))
        var chunk = [Float](repeating: 0, count: 3)
        try chunk.withUnsafeMutableBufferPointer {
            try checkpoint.readFloat32("model.embed_tokens.weight", elements: 5..<8, into: $0)
        }
        #expect(chunk == [5, 6, 7])
        #expect(checkpoint.notes.contains { $0.contains("rotary_emb.inv_freq") })
    }

    @Test func shardedByIndex() throws {
        let dir = try makeTemporaryDirectory("ckpt")
        let model = try ModelDirectoryBuilder(dir)
        try model.write("model-00001-of-00002.safetensors", [("a.weight", [2, 2])], seed: 10)
        try model.write("model-00002-of-00002.safetensors", [("lm_head.weight", [3])], seed: 20)
        try model.writeIndex([
            "a.weight": "model-00001-of-00002.safetensors", "lm_head.weight": "model-00002-of-00002.safetensors",
        ])
        let checkpoint = try Checkpoint(directory: dir)
        #expect(checkpoint.files.count == 2)
        #expect(!checkpoint.lmHeadIsTied)
        #expect(try checkpoint.readFloat32("lm_head.weight") == [20, 21, 22])
        #expect(checkpoint.notes.isEmpty)
    }

    @Test func indexNamingMissingShardIsRefused() throws {
        let dir = try makeTemporaryDirectory("ckpt")
        let model = try ModelDirectoryBuilder(dir)
        try model.write("model-00001-of-00002.safetensors", [("a.weight", [2])])
        try model.writeIndex([
            "a.weight": "model-00001-of-00002.safetensors", "lm_head.weight": "model-00002-of-00002.safetensors",
        ])
        let error = try #require(throws: CheckpointError.self) { try Checkpoint(directory: dir) }
        #expect(error.kind == .badIndex)
        #expect(
            error.description.contains("model-00002-of-00002.safetensors")
                && error.description.contains("lm_head.weight"))
    }

    @Test func indexMappingATensorToTheWrongShardIsRefused() throws {
        let dir = try makeTemporaryDirectory("ckpt")
        let model = try ModelDirectoryBuilder(dir)
        try model.write("model-00001-of-00002.safetensors", [("a.weight", [2])])
        try model.write("model-00002-of-00002.safetensors", [("b.weight", [2])])
        try model.writeIndex([
            "a.weight": "model-00002-of-00002.safetensors", "b.weight": "model-00001-of-00002.safetensors",
        ])
        let error = try #require(throws: CheckpointError.self) { try Checkpoint(directory: dir) }
        #expect(error.kind == .badIndex)
        #expect(error.tensor == "a.weight")
        #expect(error.description.contains("stored in model-00001-of-00002.safetensors"))
        try model.writeIndex([
            "a.weight": "model-00002-of-00002.safetensors", "b.weight": "model-00002-of-00002.safetensors",
        ])
        let absent = try #require(throws: CheckpointError.self) { try Checkpoint(directory: dir) }
        #expect(absent.tensor == "a.weight" && absent.description.contains("no shard named by the index stores it"))
    }

    @Test func tensorInTwoShardsIsRefused() throws {
        let dir = try makeTemporaryDirectory("ckpt")
        let model = try ModelDirectoryBuilder(dir)
        try model.write("model-00001-of-00002.safetensors", [("a.weight", [2])], seed: 1)
        try model.write("model-00002-of-00002.safetensors", [("a.weight", [2]), ("b.weight", [2])], seed: 2)
        try model.writeIndex([
            "a.weight": "model-00001-of-00002.safetensors", "b.weight": "model-00002-of-00002.safetensors",
        ])
        let error = try #require(throws: CheckpointError.self) { try Checkpoint(directory: dir) }
        #expect(error.kind == .duplicateTensor)
        #expect(error.tensor == "a.weight")
    }

    @Test func collectModeListsEveryProblem() throws {
        let dir = try makeTemporaryDirectory("ckpt")
        let model = try ModelDirectoryBuilder(
            dir, config: ["architectures": ["LlamaForCausalLM"], "vocab_size": 5, "hidden_size": 2])
        try model.write("model-00001-of-00003.safetensors", [("model.embed_tokens.weight", [4, 2])])
        try model.write("model-00002-of-00003.safetensors", [("model.layers.0.mlp.up_proj.weight", [2, 2])])
        try model.writeIndex([
            "model.embed_tokens.weight": "model-00001-of-00003.safetensors",
            "model.layers.0.mlp.up_proj.weight": "model-00002-of-00003.safetensors",
            "lm_head.weight": "model-00003-of-00003.safetensors",
        ])
        let checkpoint = try Checkpoint(directory: dir, validation: .collect)
        let text = checkpoint.problems.map(\.description)
        #expect(checkpoint.problems.count == 3)
        #expect(text.contains { $0.contains("model-00003-of-00003.safetensors") })
        #expect(text.contains { $0.contains("num_hidden_layers") })
        #expect(text.contains { $0.contains("vocab_size = 5") && $0.contains("4 rows") })
    }

    @Test(arguments: [
        (["vocab_size": 7, "hidden_size": 2, "num_hidden_layers": 1] as [String: Int], "vocab_size = 7"),
        (["vocab_size": 3, "hidden_size": 5, "num_hidden_layers": 1], "hidden_size = 5"),
        (["vocab_size": 3, "hidden_size": 2], "num_hidden_layers"),
        (["vocab_size": 3, "hidden_size": 2, "num_hidden_layers": 4], "num_hidden_layers = 4"),
    ])
    func configInconsistentWithTheTensorsIsRefused(config: [String: Int], expected: String) throws {
        let dir = try makeTemporaryDirectory("ckpt")
        var json: [String: Any] = config
        json["architectures"] = ["LlamaForCausalLM"]
        let model = try ModelDirectoryBuilder(dir, config: json)
        try model.write(
            "model.safetensors",
            [("model.embed_tokens.weight", [3, 2]), ("model.layers.0.mlp.up_proj.weight", [2, 2])])
        let error = try #require(throws: CheckpointError.self) { try Checkpoint(directory: dir) }
        #expect(error.description.contains(expected))
        #expect(error.description.contains("config.json"))
    }

    @Test(arguments: ["gptq", "awq", "bitsandbytes"])
    func quantizationConfigIsRefusedByName(method: String) throws {
        let dir = try makeTemporaryDirectory("ckpt")
        let model = try ModelDirectoryBuilder(
            dir,
            config: [
                "architectures": ["LlamaForCausalLM"], "quantization_config": ["quant_method": method, "bits": 4],
            ])
        try model.write("model.safetensors", [("a.weight", [2])])
        let error = try #require(throws: CheckpointError.self) { try Checkpoint(directory: dir) }
        #expect(error.kind == .quantized)
        #expect(
            error.description.contains(
                "\(method.uppercased() == "BITSANDBYTES" ? "bitsandbytes" : method.uppercased())-quantized checkpoints "
                    + "are not supported"
            ))
        #expect(error.description.contains("dequantize"))
    }

    @Test func packedQuantizedTensorsAreRefused() throws {
        let dir = try makeTemporaryDirectory("ckpt")
        let model = try ModelDirectoryBuilder(dir)
        try model.write("model.safetensors", [("model.layers.0.self_attn.q_proj.qweight", [2]), ("x.weight", [2])])
        let error = try #require(throws: CheckpointError.self) { try Checkpoint(directory: dir) }
        #expect(error.kind == .quantized)
        #expect(error.tensor == "model.layers.0.self_attn.q_proj.qweight")
    }

    @Test func singleSafetensorsFileOpensWithoutConfig() throws {
        let dir = try makeTemporaryDirectory("ckpt")
        let model = try ModelDirectoryBuilder(dir)
        let url = try model.write("weights.safetensors", [("a.weight", [2, 3])], dtype: .f64)
        let checkpoint = try Checkpoint(file: url)
        #expect(checkpoint.tensorNames == ["a.weight"])
        #expect(checkpoint.parameterCount == 6)
        #expect(checkpoint.notes.contains { $0.contains("F64") })
        #expect(throws: CheckpointError.self) { try Checkpoint(file: dir.appendingPathComponent("absent.safetensors")) }
    }

    @Test(arguments: ["../x.safetensors", "/etc/passwd", "sub/model.safetensors", ".."])
    func indexNamingPathOutsideIsRefused(shard: String) throws {
        let dir = try makeTemporaryDirectory("ckpt")
        let model = try ModelDirectoryBuilder(dir)
        try model.write("model.safetensors", [("a.weight", [2])])
        try model.writeIndex(["a.weight": shard])
        #expect(throws: CheckpointError.self) { try Checkpoint(directory: dir) }
        do { _ = try Checkpoint(directory: dir) } catch let error as CheckpointError {
            #expect(error.kind == .unsafePath)
            #expect(error.tensor == "a.weight")
        }
    }

    @Test(arguments: ["pytorch_model.bin", "model.pt", "weights.ckpt", "model.pth"])
    func pickleOnlyDirectoryIsRefused(file: String) throws {
        let dir = try makeTemporaryDirectory("ckpt")
        _ = try ModelDirectoryBuilder(dir)
        try Data("not unpickled".utf8).write(to: dir.appendingPathComponent(file))
        let error = try #require(throws: CheckpointError.self) { try Checkpoint(directory: dir) }
        #expect(error.kind == .pickleCheckpoint)
        #expect(error.description.contains("safetensors"))
        #expect(error.description.contains(file))
    }

    @Test func emptyDirectoryHasNoWeights() throws {
        let dir = try makeTemporaryDirectory("ckpt")
        _ = try ModelDirectoryBuilder(dir)
        #expect(try #require(throws: CheckpointError.self) { try Checkpoint(directory: dir) }.kind == .noWeights)
    }

    @Test func missingOrBadConfig() throws {
        let dir = try makeTemporaryDirectory("ckpt")
        let model = try ModelDirectoryBuilder(dir)
        try model.write("model.safetensors", [("a.weight", [2])])
        try Data("[1, 2]".utf8).write(to: dir.appendingPathComponent("config.json"))
        #expect(try #require(throws: CheckpointError.self) { try Checkpoint(directory: dir) }.kind == .badConfig)
        try FileManager.default.removeItem(at: dir.appendingPathComponent("config.json"))
        #expect(try #require(throws: CheckpointError.self) { try Checkpoint(directory: dir) }.kind == .badConfig)
        let nowhere = dir.appendingPathComponent("nope")
        #expect(
            try #require(throws: CheckpointError.self) { try Checkpoint(directory: nowhere) }.kind == .notADirectory)
    }

    @Test func tensorStoredInTwoShardsIsRefused() throws {
        let dir = try makeTemporaryDirectory("ckpt")
        let model = try ModelDirectoryBuilder(dir)
        try model.write("model-00001-of-00002.safetensors", [("a.weight", [2])])
        try model.write("model-00002-of-00002.safetensors", [("a.weight", [2])])
        let error = try #require(throws: CheckpointError.self) { try Checkpoint(directory: dir) }
        #expect(error.kind == .duplicateTensor)
        #expect(error.tensor == "a.weight")
    }

    @Test func symlinkOutsideTheDirectoryIsRefused() throws {
        let root = try makeTemporaryDirectory("ckpt")
        let elsewhere = try ModelDirectoryBuilder(root.appendingPathComponent("elsewhere"))
        let target = try elsewhere.write("model.safetensors", [("a.weight", [2])])
        let dir = root.appendingPathComponent("model")
        _ = try ModelDirectoryBuilder(dir)
        try FileManager.default.createSymbolicLink(
            at: dir.appendingPathComponent("model.safetensors"), withDestinationURL: target)
        #expect(try #require(throws: CheckpointError.self) { try Checkpoint(directory: dir) }.kind == .unsafePath)
    }

    /// The Hugging Face hub cache: snapshots/<rev>/model.safetensors -> ../../blobs/<hash>. Real downloads look
    /// like this and must open.
    @Test func huggingFaceCacheLayoutIsFollowed() throws {
        let entry = try makeTemporaryDirectory("hub").appendingPathComponent("models--org--tiny")
        let blobs = entry.appendingPathComponent("blobs")
        let scratch = try ModelDirectoryBuilder(blobs)
        let weights = try scratch.write("tmp.safetensors", [("a.weight", [2])], seed: 7)
        try FileManager.default.moveItem(at: weights, to: blobs.appendingPathComponent("9f8e7d"))
        try FileManager.default.moveItem(
            at: blobs.appendingPathComponent("config.json"), to: blobs.appendingPathComponent("c0ffee"))
        let snapshot = entry.appendingPathComponent("snapshots/abc123")
        try FileManager.default.createDirectory(at: snapshot, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(
            atPath: snapshot.appendingPathComponent("model.safetensors").path, withDestinationPath: "../../blobs/9f8e7d"
        )
        try FileManager.default.createSymbolicLink(
            atPath: snapshot.appendingPathComponent("config.json").path, withDestinationPath: "../../blobs/c0ffee")
        let checkpoint = try Checkpoint(directory: snapshot)
        #expect(try checkpoint.readFloat32("a.weight") == [7, 8])
    }

    @Test func summaryReportsSizesAndShards() throws {
        let dir = try makeTemporaryDirectory("ckpt")
        let model = try ModelDirectoryBuilder(dir)
        try model.write(
            "model.safetensors", [("model.embed_tokens.weight", [4, 2]), ("lm_head.weight", [4, 2])], dtype: .bf16)
        let summary = CheckpointSummary(try Checkpoint(directory: dir))
        #expect(summary.parameters == 16)
        #expect(summary.bytesByDtype == ["BF16": 32])
        #expect(summary.shards.map(\.file) == ["model.safetensors"])
        #expect(!summary.tiedEmbeddings)
        #expect(summary.tensors.map(\.name) == ["lm_head.weight", "model.embed_tokens.weight"])
    }
}

@Suite("TensorGroup from names")
struct TensorGroupTests {
    @Test(arguments: [
        ("model.embed_tokens.weight", TensorGroup.embeddings), ("model.layers.12.mlp.up_proj.weight", .layer(12)),
        ("model.norm.weight", .finalNorm), ("lm_head.weight", .lmHead),
        ("model.layers.0.input_layernorm.weight", .layer(0)),
        ("something.else", .other),
    ])
    func groups(name: String, group: TensorGroup) {
        #expect(TensorGroup(tensorName: name) == group)
    }

    @Test func order() {
        let sorted: [TensorGroup] = [.lmHead, .layer(10), .finalNorm, .layer(2), .embeddings].sorted()
        #expect(sorted == [.embeddings, .layer(2), .layer(10), .finalNorm, .lmHead])
    }
}
