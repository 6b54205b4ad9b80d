import Foundation
import TestSupport
import Testing

/// Float32 safetensors files written and read directly (tests only): tiny models of architectures the bundled
/// family does not cover, and the tensors of a merge's output.
enum TinySafeTensors {
    /// Writes `tensors` (name, shape, values) as F32, in the given order.
    static func write(_ url: URL, _ tensors: [(String, [Int], [Float])]) throws {
        var header: [String: Any] = [:]
        var offset = 0
        for (name, shape, values) in tensors {
            precondition(shape.reduce(1, *) == values.count, name)
            header[name] = ["dtype": "F32", "shape": shape, "data_offsets": [offset, offset + 4 * values.count]]
            offset += 4 * values.count
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }
        var data = Data()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(json)
        for (_, _, values) in tensors {
            values.withUnsafeBufferPointer { data.append(UnsafeBufferPointer(start: $0.baseAddress, count: $0.count)) }
        }
        try data.write(to: url)
    }

    /// The header's entries and the byte offset of the data.
    static func header(_ data: Data) throws -> (entries: [String: [String: Any]], dataStart: Int) {
        let length = data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }.littleEndian
        let object = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + Int(length)))) as! [String: Any]
        var entries: [String: [String: Any]] = [:]
        for (key, value) in object where key != "__metadata__" { entries[key] = value as? [String: Any] }
        return (entries, 8 + Int(length))
    }

    /// Every F32 tensor of the file, by name.
    static func read(_ url: URL) throws -> [String: [Float]] {
        let data = try Data(contentsOf: url)
        let (entries, start) = try header(data)
        var result: [String: [Float]] = [:]
        for (name, entry) in entries where entry["dtype"] as? String == "F32" {
            let offsets = entry["data_offsets"] as! [Int]
            let bytes = data.subdata(in: (start + offsets[0])..<(start + offsets[1]))
            result[name] = bytes.withUnsafeBytes { raw in
                (0..<(bytes.count / 4)).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) }
            }
        }
        return result
    }

    /// Sets every element of F32 tensor `name` in the file at `url` to `value` (the file keeps its size).
    static func fill(_ url: URL, tensor name: String, with value: Float, elements: Range<Int>? = nil) throws {
        var data = try Data(contentsOf: url)
        let (entries, start) = try header(data)
        let offsets = try #require(entries[name]?["data_offsets"] as? [Int], "\(name) in \(url.path)")
        let range = elements ?? 0..<((offsets[1] - offsets[0]) / 4)
        for i in range {
            withUnsafeBytes(of: value.bitPattern.littleEndian) {
                data.replaceSubrange((start + offsets[0] + 4 * i)..<(start + offsets[0] + 4 * i + 4), with: $0)
            }
        }
        try data.write(to: url)
    }
}

/// Tiny GPT-2 and GPT-NeoX checkpoints with the tensor names and shapes transformers 5.23 saves
/// (`GPT2LMHeadModel` with a tied head; `GPTNeoXForCausalLM` with its own `embed_out`): hidden 16, 3 layers,
/// vocab 64. Element i of a tensor of layer l (−1 outside the layers) in model k is k + (l + 1)/10 + (i mod 7)/1000,
/// so a tensor's source model and layer are read off its first value.
enum TinyArchitectures {
    static let hidden = 16, layers = 3, vocab = 64, positions = 32

    static func gpt2Tensors() -> [(String, [Int])] {
        let H = hidden
        var tensors: [(String, [Int])] = [
            ("transformer.wte.weight", [vocab, H]), ("transformer.wpe.weight", [positions, H]),
        ]
        for i in 0..<layers {
            let p = "transformer.h.\(i)."
            tensors += [
                (p + "ln_1.weight", [H]), (p + "ln_1.bias", [H]), (p + "attn.c_attn.weight", [H, 3 * H]),
                (p + "attn.c_attn.bias", [3 * H]), (p + "attn.c_proj.weight", [H, H]), (p + "attn.c_proj.bias", [H]),
                (p + "ln_2.weight", [H]), (p + "ln_2.bias", [H]), (p + "mlp.c_fc.weight", [H, 4 * H]),
                (p + "mlp.c_fc.bias", [4 * H]), (p + "mlp.c_proj.weight", [4 * H, H]), (p + "mlp.c_proj.bias", [H]),
            ]
        }
        return tensors + [("transformer.ln_f.weight", [H]), ("transformer.ln_f.bias", [H])]
    }

    static func neoxTensors() -> [(String, [Int])] {
        let H = hidden
        var tensors: [(String, [Int])] = [("gpt_neox.embed_in.weight", [vocab, H])]
        for i in 0..<layers {
            let p = "gpt_neox.layers.\(i)."
            tensors += [
                (p + "input_layernorm.weight", [H]), (p + "input_layernorm.bias", [H]),
                (p + "post_attention_layernorm.weight", [H]), (p + "post_attention_layernorm.bias", [H]),
                (p + "attention.query_key_value.weight", [3 * H, H]), (p + "attention.query_key_value.bias", [3 * H]),
                (p + "attention.dense.weight", [H, H]), (p + "attention.dense.bias", [H]),
                (p + "mlp.dense_h_to_4h.weight", [4 * H, H]), (p + "mlp.dense_h_to_4h.bias", [4 * H]),
                (p + "mlp.dense_4h_to_h.weight", [H, 4 * H]), (p + "mlp.dense_4h_to_h.bias", [H]),
            ]
        }
        return tensors + [
            ("gpt_neox.final_layer_norm.weight", [H]), ("gpt_neox.final_layer_norm.bias", [H]),
            ("embed_out.weight", [vocab, H]),
        ]
    }

    static func config(_ modelType: String) -> [String: Any] {
        switch modelType {
        case "gpt2":
            [
                "model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "n_embd": hidden, "n_layer": layers,
                "n_head": 2, "n_positions": positions, "vocab_size": vocab, "tie_word_embeddings": true,
                "layer_norm_epsilon": 1e-5, "activation_function": "gelu_new", "dtype": "float32",
            ]
        default:
            [
                "model_type": "gpt_neox", "architectures": ["GPTNeoXForCausalLM"], "hidden_size": hidden,
                "num_hidden_layers": layers, "num_attention_heads": 2, "intermediate_size": 4 * hidden,
                "max_position_embeddings": positions, "vocab_size": vocab, "tie_word_embeddings": false,
                "layer_norm_eps": 1e-5, "hidden_act": "gelu", "rotary_pct": 0.25, "use_parallel_residual": true,
                "dtype": "float32",
            ]
        }
    }

    /// Writes model `k` of architecture `modelType` to `directory` (plus `extra` tensors) and returns it.
    @discardableResult
    static func write(
        _ modelType: String, model k: Int, to directory: URL, extra: [(String, [Int])] = []
    ) throws -> URL {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let tensors = (modelType == "gpt2" ? gpt2Tensors() : neoxTensors()) + extra
        try TinySafeTensors.write(
            directory.appendingPathComponent("model.safetensors"),
            tensors.map { name, shape in
                let layer = Float(layerIndex(of: name) ?? -1)
                let values = (0..<shape.reduce(1, *)).map { Float(k) + (layer + 1) / 10 + Float($0 % 7) / 1000 }
                return (name, shape, values)
            })
        let config = try JSONSerialization.data(withJSONObject: config(modelType), options: [.sortedKeys])
        try config.write(to: directory.appendingPathComponent("config.json"))
        return directory
    }

    /// The layer index in `name` (`h.<i>.` or `layers.<i>.`).
    static func layerIndex(of name: String) -> Int? {
        let parts = name.split(separator: ".")
        for (k, part) in parts.enumerated() where (part == "h" || part == "layers") && k + 1 < parts.count {
            if let index = Int(parts[k + 1]) { return index }
        }
        return nil
    }

    /// The model a tensor was copied from: the integer part of its first value.
    static func source(of values: [Float]?) -> Int? {
        values.map { Int($0[0].rounded(.down)) }
    }

    /// The model and layer a layer tensor was copied from.
    static func sourceLayer(of values: [Float]?) -> [Int]? {
        values.map { v in
            let model = Int(v[0].rounded(.down))
            return [model, Int(((v[0] - Float(model)) * 10).rounded()) - 1]
        }
    }
}

@Suite("Trust: frankenmerge slices place tensors by architecture")
struct SliceArchitectureTests {
    /// MergeKit's gpt2.json / gpt-neox.json: `wpe`, `wte`, `embed_in` are pre-weights (first slice); `ln_f`,
    /// `final_layer_norm`, `embed_out` are post-weights (last slice). Model 1 gives layers 0–1, model 2 layers 1–2:
    /// the output's four layers are 1's 0, 1 and 2's 1, 2; pre-weights from model 1, post-weights from model 2.
    /// (Before the fix, `wpe` and `embed_in` came from model 2.)
    @Test(arguments: [
        (
            "gpt2", ["transformer.wte.weight", "transformer.wpe.weight"],
            ["transformer.ln_f.weight", "transformer.ln_f.bias"], "transformer.h."
        ),
        (
            "gpt_neox", ["gpt_neox.embed_in.weight"],
            ["gpt_neox.final_layer_norm.weight", "gpt_neox.final_layer_norm.bias", "embed_out.weight"],
            "gpt_neox.layers."
        ),
    ])
    func passthroughSlicesTakeEmbeddingsFromTheFirstSlice(
        modelType: String, before: [String], after: [String], layerPrefix: String
    ) throws {
        let root = try makeTemporaryDirectory("slices-\(modelType)")
        let one = try TinyArchitectures.write(modelType, model: 1, to: root.appendingPathComponent("one"))
        let two = try TinyArchitectures.write(modelType, model: 2, to: root.appendingPathComponent("two"))
        let config = root.appendingPathComponent("slices.yml")
        try Data(
            """
            merge_method: passthrough
            dtype: float32
            slices:
              - sources:
                  - model: \(one.path)
                    layer_range: [0, 2]
              - sources:
                  - model: \(two.path)
                    layer_range: [1, 3]

            """.utf8
        ).write(to: config)
        let out = root.appendingPathComponent("out")
        let result = try MetaMergeProcess.run(["merge", config.path, out.path, "--quiet"])
        #expect(result.status == 0, "\(result.stderr)")
        let tensors = try TinySafeTensors.read(out.appendingPathComponent("model.safetensors"))
        for name in before {
            #expect(TinyArchitectures.source(of: tensors[name]) == 1, "\(name) from the first slice")
        }
        for name in after {
            #expect(TinyArchitectures.source(of: tensors[name]) == 2, "\(name) from the last slice")
        }
        // Layers: 1's 0 and 1, then 2's 1 and 2 renumbered to 2 and 3 — every tensor of each.
        for (output, expected) in [(0, [1, 0]), (1, [1, 1]), (2, [2, 1]), (3, [2, 2])] {
            let layer = tensors.filter { $0.key.hasPrefix("\(layerPrefix)\(output).") }
            #expect(layer.count == 12, "output layer \(output)")
            for (name, values) in layer {
                #expect(TinyArchitectures.sourceLayer(of: values) == expected, "\(name)")
            }
        }
        #expect(!tensors.keys.contains { $0.hasPrefix("\(layerPrefix)4.") })
    }

    /// A tensor outside the layers that no architecture places is refused in a slices merge, naming it (MergeKit
    /// would not copy it); a plain merge of the same models still works.
    @Test func anUnplaceableTensorIsRefusedInSlicesOnly() throws {
        let root = try makeTemporaryDirectory("slices-unknown")
        let extra = [("transformer.adapter_scale", [4])]
        let one = try TinyArchitectures.write("gpt2", model: 1, to: root.appendingPathComponent("one"), extra: extra)
        let two = try TinyArchitectures.write("gpt2", model: 2, to: root.appendingPathComponent("two"), extra: extra)
        let slices = root.appendingPathComponent("slices.yml")
        try Data(
            """
            merge_method: passthrough
            slices:
              - sources:
                  - model: \(one.path)
                    layer_range: [0, 1]
              - sources:
                  - model: \(two.path)
                    layer_range: [1, 3]

            """.utf8
        ).write(to: slices)
        let out = root.appendingPathComponent("out")
        let refused = try MetaMergeProcess.run(["merge", slices.path, out.path, "--quiet"])
        #expect(refused.status == 2, "\(refused.stderr)")
        #expect(refused.stderr.contains("transformer.adapter_scale"), "\(refused.stderr)")
        #expect(refused.stderr.split(separator: "\n").count == 1, "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out.path))
        let plain = root.appendingPathComponent("plain.yml")
        let models = [one, two].map { "  - model: \($0.path)\n    parameters: {weight: 1}\n" }.joined()
        try Data("merge_method: linear\nmodels:\n\(models)".utf8).write(to: plain)
        let merged = try MetaMergeProcess.run(["merge", plain.path, out.path, "--quiet"])
        #expect(merged.status == 0, "\(merged.stderr)")
    }

    /// `analyze` groups GPT-2's `wpe` as position embeddings and GPT-NeoX's `embed_in`, `final_layer_norm`,
    /// `embed_out` as embeddings, final norm and lm_head — no tensor of either is left in `other`.
    @Test(arguments: [
        ("gpt2", ["embeddings", "position_embeddings", "final_norm", "layers.0", "layers.1", "layers.2"]),
        ("gpt_neox", ["embeddings", "final_norm", "lm_head", "layers.0", "layers.1", "layers.2"]),
    ])
    func analyzeLabelsTheGroupsOfOtherArchitectures(modelType: String, groups: [String]) throws {
        let root = try makeTemporaryDirectory("groups-\(modelType)")
        let base = try TinyArchitectures.write(modelType, model: 1, to: root.appendingPathComponent("base"))
        let a = try TinyArchitectures.write(modelType, model: 2, to: root.appendingPathComponent("a"))
        let b = try TinyArchitectures.write(modelType, model: 3, to: root.appendingPathComponent("b"))
        let result = try MetaMergeProcess.run([
            "analyze", "--base", base.path, "--model", "a=\(a.path)", "--model", "b=\(b.path)", "-o",
            root.appendingPathComponent("r.h5").path, "--json",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as! [String: Any]
        let labels = (object["leastOrthogonal"] as! [[String: Any]]).map { $0["label"] as! String }
        #expect(Set(labels) == Set(groups), "\(labels)")
    }
}

@Suite("Trust: merge parameters and vocabulary sizes are bounded")
struct MergeBoundsTests {
    /// A tolerance far beyond its meaning (karcher `tol: 1e300` once wrote an all-zero model) is refused when the
    /// config is parsed, naming the parameter, the value and the range; nothing is written.
    @Test(arguments: [
        ("karcher", "tol: 1e300", "tol"), ("karcher", "tol: 0.5", "tol"), ("multislerp", "eps: 2", "eps"),
        ("ram", "epsilon: 1e300", "epsilon"),
    ])
    func tolerancesOutsideTheirMeaningAreRefused(method: String, parameters: String, key: String) throws {
        let family = try FamilyCopy("bounds-\(method)", tasks: ["add", "rev"])
        let config = family.workspace.appendingPathComponent("c.yml")
        let models = family.tasks.map { "  - model: \(family.model($0).path)" }.joined(separator: "\n")
        let text =
            "merge_method: \(method)\nbase_model: \(family.model("base").path)\nmodels:\n\(models)\nparameters: "
            + "{\(parameters)}\ndtype: float32\n"
        try Data(text.utf8).write(to: config)
        let out = family.workspace.appendingPathComponent("out")
        let result = try MetaMergeProcess.run(["merge", config.path, out.path, "--quiet"])
        #expect(result.status == 2, "\(method) \(parameters): \(result.stderr)")
        #expect(result.stderr.contains("parameters.\(key)") && result.stderr.contains("[0, 0.1]"), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1)
        #expect(!FileManager.default.fileExists(atPath: out.path))
    }

    /// `pad_to_multiple_of: 1000000000` is refused before any work — even `--dry-run` once wrote tens of GB of
    /// padding rows to $TMPDIR — naming the key and the limit.
    @Test func padToMultipleOfIsBounded() throws {
        let family = try FamilyCopy("bounds-pad", tasks: ["add"])
        let config = try family.config(extra: "tokenizer:\n  source: base\n  pad_to_multiple_of: 1000000000\n")
        let started = Date()
        let result = try MetaMergeProcess.run(["merge", config.path, "--dry-run"])
        #expect(result.status == 2, "\(result.stderr)")
        #expect(
            result.stderr.contains("pad_to_multiple_of") && result.stderr.contains("16777216"), "\(result.stderr)")
        #expect(Date().timeIntervalSince(started) < 30)
        // A reasonable multiple still works.
        let fine = try family.config(
            name: "fine.yml", extra: "tokenizer:\n  source: base\n  pad_to_multiple_of: 64\n")
        let out = family.workspace.appendingPathComponent("out")
        let merged = try MetaMergeProcess.run(["merge", fine.path, out.path, "--quiet"])
        #expect(merged.status == 0, "\(merged.stderr)")
        let tensors = try TinySafeTensors.read(out.appendingPathComponent("model.safetensors"))
        #expect(tensors["model.embed_tokens.weight"]?.count == 64 * 64)
    }

    /// `metamerge` with `TMPDIR` set to `temporary`.
    static func run(_ arguments: [String], temporary: URL) throws -> (status: Int32, stderr: String) {
        let process = Process()
        process.executableURL = MetaMergeProcess.executable
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["TMPDIR"] = temporary.path
        process.environment = environment
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let data = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// The tokenizer alignment's scratch folder in $TMPDIR is gone after a merge that succeeds and one that fails
    /// after writing to it; a folder a killed run left (this tool's marker, process gone) is removed, one without
    /// the marker is left alone.
    @Test func alignmentScratchIsRemovedOnEveryExitPath() throws {
        let family = try FamilyCopy("bounds-scratch", tasks: ["add", "rev"])
        let temporary = family.workspace.appendingPathComponent("tmp")
        let stale = temporary.appendingPathComponent("metamerge-vocab-2147483000-\(UUID().uuidString)")
        let foreign = temporary.appendingPathComponent("metamerge-vocab-2147483001-\(UUID().uuidString)")
        for folder in [stale, foreign] {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try Data(count: 1000).write(to: folder.appendingPathComponent("aligned-1.safetensors"))
        }
        try Data().write(to: stale.appendingPathComponent(".metamerge-scratch"))
        let good = try family.config(extra: "tokenizer:\n  source: base\n  pad_to_multiple_of: 64\n")
        let ok = try Self.run(
            ["merge", good.path, family.workspace.appendingPathComponent("out").path, "--quiet"], temporary: temporary)
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: temporary.path) == [foreign.lastPathComponent])
        let bad = try family.config(
            name: "bad.yml",
            extra: "tokenizer:\n  source: base\n  tokens:\n    \"<new>\":\n      source: {kind: model_token, model: "
                + "\(family.model("add").path), token: \"<absent>\"}\n")
        let failed = try Self.run(
            ["merge", bad.path, family.workspace.appendingPathComponent("out2").path, "--quiet"], temporary: temporary)
        #expect(failed.status == 2, "\(failed.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: temporary.path) == [foreign.lastPathComponent])
    }

    /// A tokenizer source whose tokenizer.json has ids beyond its vocab_size (1000 added tokens, 36 embedding rows)
    /// would give an output whose tokenizer names rows the embedding lacks: refused, naming the source and ids.
    @Test func aTokenizerSourceWithIDsBeyondItsRowsIsRefused() throws {
        let family = try FamilyCopy("bounds-tokenizer", tasks: ["add", "rev"])
        let url = family.model("add").appendingPathComponent("tokenizer.json")
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        let added = (0..<1000).map { i -> [String: Any] in
            [
                "id": 36 + i, "content": "<extra_\(i)>", "single_word": false, "lstrip": false, "rstrip": false,
                "normalized": false, "special": true,
            ]
        }
        json["added_tokens"] = (json["added_tokens"] as? [[String: Any]] ?? []) + added
        try JSONSerialization.data(withJSONObject: json).write(to: url)
        let config = try family.config(extra: "tokenizer_source: \(family.model("add").path)\n")
        let out = family.workspace.appendingPathComponent("out")
        let result = try MetaMergeProcess.run(["merge", config.path, out.path, "--quiet"])
        #expect(result.status == 2, "\(result.stderr)")
        #expect(result.stderr.contains("1035") && result.stderr.contains("vocab_size is 36"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out.path))
    }
}

@Suite("Trust: eval and sweep refuse non-finite weights and logits")
struct NonFiniteEvaluationTests {
    static func task(_ name: String) -> String {
        "\(name)=" + RepositoryPaths.tinyFamily.appendingPathComponent("tasks/\(name).jsonl").path
    }

    /// A NaN in a task model's weight: `eval CONFIG` and `sweep` once scored 0 % with NLL nan and exit 0; now exit 2
    /// naming the tensor.
    @Test func aNaNWeightOfAPointIsNamed() throws {
        let family = try FamilyCopy("nonfinite-weight", tasks: ["add", "rev"])
        let tensor = "model.layers.1.mlp.down_proj.weight"
        try TinySafeTensors.fill(
            family.model("add").appendingPathComponent("model.safetensors"), tensor: tensor, with: .nan,
            elements: 5..<6)
        let config = try family.config()
        let eval = try MetaMergeProcess.run(["eval", config.path, "--task", Self.task("add"), "--quiet"])
        #expect(eval.status == 2, "\(eval.stdout) \(eval.stderr)")
        #expect(eval.stderr.contains(tensor), "\(eval.stderr)")
        #expect(eval.stderr.split(separator: "\n").count == 1, "\(eval.stderr)")
        let sweep = try MetaMergeProcess.run([
            "sweep", config.path, "--weights", "1:1", "--scales", "0,1", "--task", Self.task("add"), "--quiet", "-o",
            family.workspace.appendingPathComponent("s.h5").path,
        ])
        #expect(sweep.status == 2, "\(sweep.stdout) \(sweep.stderr)")
        #expect(sweep.stderr.contains(tensor), "\(sweep.stderr)")
        #expect(!FileManager.default.fileExists(atPath: family.workspace.appendingPathComponent("s.h5").path))
    }

    /// Finite weights whose logits overflow (final norm and lm_head of 1e30: every product is 1e60): exit 2 naming
    /// the logits and the task item (file and line), not a score.
    @Test func nonFiniteLogitsAreNamed() throws {
        let family = try FamilyCopy("nonfinite-logits", tasks: [])
        let weights = family.model("base").appendingPathComponent("model.safetensors")
        try TinySafeTensors.fill(weights, tensor: "model.norm.weight", with: 1e30)
        try TinySafeTensors.fill(weights, tensor: "lm_head.weight", with: 1e30)
        let eval = try MetaMergeProcess.run([
            "eval", family.model("base").path, "--task", Self.task("add"), "--quiet",
        ])
        #expect(eval.status == 2, "\(eval.stdout) \(eval.stderr)")
        #expect(eval.stderr.contains("logits") && eval.stderr.contains("add.jsonl:1:"), "\(eval.stderr)")
        #expect(eval.stderr.split(separator: "\n").count == 1, "\(eval.stderr)")
    }
}
