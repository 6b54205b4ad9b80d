import Foundation
import TestSupport
import Testing

/// Issue 17: the config.json a merge writes (untouched keys byte for byte, changed ones typed as transformers
/// expects, per-layer lists following a slice map), which models may be merged together (same architecture, no
/// missing untied head), what `inspect` says, and file errors named in words instead of Foundation's codes.
@Suite("config.json rewriting, architecture checks and file-error messages")
struct TrustConfigTests {
    /// Replaces `old` (which must occur once) by `new` in the text of `url`.
    static func edit(_ url: URL, _ old: String, _ new: String) throws {
        let text = try String(contentsOf: url, encoding: .utf8)
        #expect(text.components(separatedBy: old).count == 2, "\(url.path) must hold '\(old)' once")
        try Data(text.replacingOccurrences(of: old, with: new).utf8).write(to: url)
    }

    /// Rewrites `model.safetensors` in `directory` without tensor `name` (the others' bytes unchanged, re-packed).
    static func dropTensor(_ name: String, in directory: URL) throws {
        let url = directory.appendingPathComponent("model.safetensors")
        let data = try Data(contentsOf: url)
        let length = Int(data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }.littleEndian)
        let object = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + length)))
        var header = try #require(object as? [String: Any])
        header[name] = nil
        let body = data.subdata(in: (8 + length)..<data.count)
        var output = Data()
        var entries: [String: Any] = header.filter { $0.key == "__metadata__" }
        for key in header.keys.sorted() where key != "__metadata__" {
            var entry = try #require(header[key] as? [String: Any])
            let offsets = try #require(entry["data_offsets"] as? [Int])
            entry["data_offsets"] = [output.count, output.count + offsets[1] - offsets[0]]
            output.append(body.subdata(in: offsets[0]..<offsets[1]))
            entries[key] = entry
        }
        var json = try JSONSerialization.data(withJSONObject: entries, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }
        var size = UInt64(json.count).littleEndian
        try (Data(bytes: &size, count: 8) + json + output).write(to: url)
    }

    /// The (name, [begin, end]) entries of a safetensors header, sorted by begin, and the header length.
    static func tensorOffsets(_ url: URL) throws -> (entries: [(String, [Int])], headerLength: Int) {
        let data = try Data(contentsOf: url)
        let length = Int(data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }.littleEndian)
        let object = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + length)))
        let header = try #require(object as? [String: Any])
        var entries: [(String, [Int])] = []
        for (key, value) in header where key != "__metadata__" {
            let offsets = try #require((value as? [String: Any])?["data_offsets"] as? [Int])
            entries.append((key, offsets))
        }
        return (entries.sorted { $0.1[0] < $1.1[0] }, length)
    }

    @Test("a dtype change rewrites only the dtype: floats keep their spelling (30.0 stays 30.0)")
    func changedDtypeKeepsEveryOtherByte() throws {
        let family = try FamilyCopy("cfg-float", tasks: ["add", "rev"])
        for name in ["base", "add", "rev"] {
            try Self.edit(
                family.model(name).appendingPathComponent("config.json"), "  \"attention_bias\": false,\n",
                "  \"attention_bias\": false,\n  \"attn_logit_softcapping\": 30.0,\n"
                    + "  \"final_logit_softcapping\": 30.0,\n  \"router_jitter_noise\": 0.0,\n")
        }
        let input = try String(contentsOf: family.model("base").appendingPathComponent("config.json"), encoding: .utf8)
        let output = family.workspace.appendingPathComponent("merged")
        let result = try MetaMergeProcess.run(
            ["merge", try family.config(extra: "out_dtype: bfloat16\n").path, output.path])
        #expect(result.status == 0, "\(result.stderr)")
        let written = try String(contentsOf: output.appendingPathComponent("config.json"), encoding: .utf8)
        // Known by hand: the input with one value changed, nothing else re-spelled or re-ordered.
        #expect(
            written
                == input.replacingOccurrences(of: "\"dtype\": \"float32\"", with: "\"dtype\": \"bfloat16\""))
        #expect(written.contains("\"final_logit_softcapping\": 30.0,"))
        #expect(written.contains("\"rms_norm_eps\": 1e-06,"))
    }

    @Test("a key the input lacks is appended as a member in the input's layout; the rest stays byte for byte")
    func absentDtypeKeyIsAppended() throws {
        let family = try FamilyCopy("cfg-append", tasks: ["add", "rev"])
        for name in ["base", "add", "rev"] {
            try Self.edit(family.model(name).appendingPathComponent("config.json"), "  \"dtype\": \"float32\",\n", "")
        }
        let input = try String(contentsOf: family.model("base").appendingPathComponent("config.json"), encoding: .utf8)
        let output = family.workspace.appendingPathComponent("merged")
        let result = try MetaMergeProcess.run(
            ["merge", try family.config(extra: "out_dtype: float16\n").path, output.path])
        #expect(result.status == 0, "\(result.stderr)")
        let written = try String(contentsOf: output.appendingPathComponent("config.json"), encoding: .utf8)
        #expect(
            written
                == input.replacingOccurrences(
                    of: "  \"vocab_size\": 36\n}", with: "  \"vocab_size\": 36,\n  \"torch_dtype\": \"float16\"\n}"))
    }

    /// Passthrough slices base[0, 1) + add[2, 4): output layers 0, 1, 2 come from source layers 0, 2, 3.
    static let sliceConfig = """
        merge_method: passthrough
        slices:
          - sources:
              - model: family/base
                layer_range: [0, 1]
          - sources:
              - model: family/add
                layer_range: [2, 4]
        dtype: float32

        """

    @Test("slices: layer_types, no_rope_layers, mlp_only_layers and n_layer follow the layer map")
    func slicesRelayPerLayerLists() throws {
        let family = try FamilyCopy("cfg-slices", tasks: ["add"])
        let lists =
            "  \"layer_types\": [\"sliding_attention\", \"full_attention\", \"sliding_attention\", "
            + "\"full_attention\"],\n"
            + "  \"mlp_only_layers\": [2],\n  \"n_layer\": 4,\n  \"no_rope_layers\": [1, 1, 0, 1],\n"
        for name in ["base", "add"] {
            try Self.edit(
                family.model(name).appendingPathComponent("config.json"), "  \"attention_bias\": false,\n",
                "  \"attention_bias\": false,\n" + lists)
        }
        let input = try String(contentsOf: family.model("base").appendingPathComponent("config.json"), encoding: .utf8)
        let config = family.workspace.appendingPathComponent("slices.yml")
        try Data(Self.sliceConfig.utf8).write(to: config)
        let output = family.workspace.appendingPathComponent("merged")
        let result = try MetaMergeProcess.run(["merge", config.path, output.path])
        #expect(result.status == 0, "\(result.stderr)")
        let written = try String(contentsOf: output.appendingPathComponent("config.json"), encoding: .utf8)
        let expected =
            input
            .replacingOccurrences(
                of: "[\"sliding_attention\", \"full_attention\", \"sliding_attention\", \"full_attention\"]",
                with: "[\"sliding_attention\", \"sliding_attention\", \"full_attention\"]"
            )
            .replacingOccurrences(of: "\"mlp_only_layers\": [2]", with: "\"mlp_only_layers\": [1]")
            .replacingOccurrences(of: "\"n_layer\": 4", with: "\"n_layer\": 3")
            .replacingOccurrences(of: "\"no_rope_layers\": [1, 1, 0, 1]", with: "\"no_rope_layers\": [1, 0, 1]")
            .replacingOccurrences(of: "\"num_hidden_layers\": 4", with: "\"num_hidden_layers\": 3")
        #expect(written == expected)
    }

    @Test("slices: a per-layer list without one entry per layer is refused, naming the file and key")
    func slicesRefuseAListThatCannotBeRelaid() throws {
        let family = try FamilyCopy("cfg-badlist", tasks: ["add"])
        for name in ["base", "add"] {
            try Self.edit(
                family.model(name).appendingPathComponent("config.json"), "  \"attention_bias\": false,\n",
                "  \"attention_bias\": false,\n  \"layer_types\": [\"full_attention\", \"full_attention\"],\n")
        }
        let config = family.workspace.appendingPathComponent("slices.yml")
        try Data(Self.sliceConfig.utf8).write(to: config)
        let output = family.workspace.appendingPathComponent("merged")
        let result = try MetaMergeProcess.run(["merge", config.path, output.path])
        #expect(result.status == 2)
        #expect(result.stderr.contains("config.json") && result.stderr.contains("'layer_types' has 2 entries"))
        #expect(!FileManager.default.fileExists(atPath: output.path))
    }

    @Test("slices of a Gemma 2 config without layer_types: the pattern's list is written for the source layers")
    func slicesWriteTheImpliedLayerTypes() throws {
        let family = try FamilyCopy("cfg-gemma2", tasks: ["add"])
        for name in ["base", "add"] {
            try Self.edit(
                family.model(name).appendingPathComponent("config.json"), "\"model_type\": \"llama\"",
                "\"model_type\": \"gemma2\"")
        }
        let input = try String(contentsOf: family.model("base").appendingPathComponent("config.json"), encoding: .utf8)
        let config = family.workspace.appendingPathComponent("slices.yml")
        try Data(Self.sliceConfig.utf8).write(to: config)
        let output = family.workspace.appendingPathComponent("merged")
        let result = try MetaMergeProcess.run(["merge", config.path, output.path])
        #expect(result.status == 0, "\(result.stderr)")
        let written = try String(contentsOf: output.appendingPathComponent("config.json"), encoding: .utf8)
        // Gemma 2 alternates sliding (even layers) and full (odd layers): source layers 0, 2, 3.
        let expected =
            input
            .replacingOccurrences(of: "\"num_hidden_layers\": 4", with: "\"num_hidden_layers\": 3")
            .replacingOccurrences(
                of: "  \"vocab_size\": 36\n}",
                with: "  \"vocab_size\": 36,\n"
                    + "  \"layer_types\": [\"sliding_attention\", \"sliding_attention\", \"full_attention\"]\n}")
        #expect(written == expected)
    }

    @Test("a missing lm_head with tie_word_embeddings: false is refused, not read from the embedding")
    func missingUntiedHeadIsRefused() throws {
        let family = try FamilyCopy("cfg-head", tasks: ["add", "rev"])
        try Self.dropTensor("lm_head.weight", in: family.model("add"))
        let inspect = try MetaMergeProcess.run(["inspect", family.model("add").path])
        #expect(inspect.status == 2)
        #expect(inspect.stderr.contains("lm_head.weight") && inspect.stderr.contains("tie_word_embeddings"))
        #expect(!inspect.stdout.contains("tied lm_head   yes"))
        let merge = try MetaMergeProcess.run(
            ["merge", try family.config().path, family.workspace.appendingPathComponent("merged").path])
        #expect(merge.status == 2)
        #expect(merge.stderr.contains("lm_head.weight"), "\(merge.stderr)")
        let analyze = try MetaMergeProcess.run(
            ["analyze"] + family.arguments + ["-o", family.workspace.appendingPathComponent("r.h5").path])
        #expect(analyze.status == 2)
        #expect(analyze.stderr.contains("lm_head.weight"), "\(analyze.stderr)")
    }

    @Test("models of another architecture are refused by merge and analyze; a fine-tune's own keys are not")
    func otherArchitecturesAreRefused() throws {
        let family = try FamilyCopy("cfg-arch", tasks: ["add", "rev"])
        let addConfig = family.model("add").appendingPathComponent("config.json")
        let original = try Data(contentsOf: addConfig)
        try Self.edit(addConfig, "\"model_type\": \"llama\"", "\"model_type\": \"qwen2\"")
        try Self.edit(addConfig, "\"LlamaForCausalLM\"", "\"Qwen2ForCausalLM\"")
        let output = family.workspace.appendingPathComponent("merged")
        let qwen = try MetaMergeProcess.run(["merge", try family.config().path, output.path])
        #expect(qwen.status == 2)
        #expect(qwen.stderr.contains("model_type") && qwen.stderr.contains("qwen2"), "\(qwen.stderr)")
        #expect(!FileManager.default.fileExists(atPath: output.path))

        // Same model_type, another norm epsilon: the maths differ.
        try original.write(to: addConfig)
        try Self.edit(addConfig, "\"rms_norm_eps\": 1e-06", "\"rms_norm_eps\": 1e-05")
        let epsilon = try MetaMergeProcess.run(["merge", try family.config().path, output.path])
        #expect(epsilon.status == 2)
        #expect(epsilon.stderr.contains("rms_norm_eps"), "\(epsilon.stderr)")
        let analyze = try MetaMergeProcess.run(
            ["analyze"] + family.arguments + ["-o", family.workspace.appendingPathComponent("r.h5").path])
        #expect(analyze.status == 2)
        #expect(analyze.stderr.contains("rms_norm_eps"), "\(analyze.stderr)")

        // What a fine-tune may change: its dtype, name, version, cache flag, token ids.
        try original.write(to: addConfig)
        try Self.edit(addConfig, "\"use_cache\": true", "\"use_cache\": false, \"_name_or_path\": \"me/add\"")
        try Self.edit(addConfig, "\"transformers_version\": \"5.23.0\"", "\"transformers_version\": \"4.57.1\"")
        try Self.edit(addConfig, "\"pad_token_id\": 0", "\"pad_token_id\": 2")
        let fine = try MetaMergeProcess.run(["merge", try family.config().path, output.path])
        #expect(fine.status == 0, "\(fine.stderr)")
    }

    @Test("inspect names the class transformers infers from model_type when config.json has no architectures")
    func inspectInfersTheArchitecture() throws {
        let family = try FamilyCopy("cfg-infer", tasks: [])
        try Self.edit(
            family.model("base").appendingPathComponent("config.json"),
            "  \"architectures\": [\n    \"LlamaForCausalLM\"\n  ],\n", "")
        let result = try MetaMergeProcess.run(["inspect", family.model("base").path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("architecture   LlamaForCausalLM (inferred from model_type llama"))
        #expect(!result.stdout.contains("unknown"))
    }

    @Test("a truncated weight file: the message names the first tensor whose data_offsets run past the end")
    func truncatedFileNamesTheTensor() throws {
        let family = try FamilyCopy("cfg-trunc", tasks: [])
        let url = family.model("base").appendingPathComponent("model.safetensors")
        let (entries, headerLength) = try Self.tensorOffsets(url)
        let last = try #require(entries.last)
        // Cut the last tensor and 4 bytes of the one before it: both run past the end; the earlier one is named.
        let cut = last.1[1] - last.1[0] + 4
        let data = try Data(contentsOf: url)
        try data.prefix(data.count - cut).write(to: url)
        let dataSize = data.count - cut - 8 - headerLength
        let first = try #require(entries.first { $0.1[1] > dataSize })
        #expect(first.0 != last.0)
        let result = try MetaMergeProcess.run(["inspect", family.model("base").path])
        #expect(result.status == 2)
        #expect(result.stderr.contains("tensor '\(first.0)'"), "\(result.stderr)")
        #expect(result.stderr.contains("data_offsets [\(first.1[0]), \(first.1[1])]"), "\(result.stderr)")
    }

    @Test("unreadable inputs: one line naming the file and what happened, never an NSCocoaErrorDomain code")
    func foundationErrorsAreNamed() throws {
        let family = try FamilyCopy("cfg-cocoa", tasks: ["add"])
        let root = family.workspace
        let regular = root.appendingPathComponent("regular")
        try Data("x".utf8).write(to: regular)
        let folder = root.appendingPathComponent("folder")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let notUTF8 = root.appendingPathComponent("latin1.yml")
        try Data([0x6D, 0x3A, 0x20, 0xFF, 0xFE, 0x0A]).write(to: notUTF8)
        func damaged(_ name: String, _ file: String) throws -> URL {
            let copy = root.appendingPathComponent(name)
            try FileManager.default.copyItem(at: family.model("base"), to: copy)
            try? FileManager.default.removeItem(at: copy.appendingPathComponent(file))
            try FileManager.default.createDirectory(
                at: copy.appendingPathComponent(file), withIntermediateDirectories: false)
            return copy
        }
        let out = root.appendingPathComponent("out").path
        let cases: [(arguments: [String], path: String)] = [
            (
                ["merge", regular.appendingPathComponent("m.yml").path, out],
                regular.appendingPathComponent("m.yml").path
            ),
            (["merge", folder.path, out], folder.path),
            (["merge", notUTF8.path, out], notUTF8.path),
            (["inspect", try damaged("config-dir", "config.json").path], "config-dir/config.json"),
            (
                ["inspect", try damaged("index-dir", "model.safetensors.index.json").path],
                "index-dir/model.safetensors"
            ),
            (["tokenize", try damaged("tokenizer-dir", "tokenizer.json").path, "hi"], "tokenizer-dir/tokenizer.json"),
            (
                ["probe"] + family.arguments
                    + ["--prompts", folder.path, "-o", root.appendingPathComponent("p.h5").path],
                folder.path
            ),
        ]
        for (arguments, path) in cases {
            let result = try MetaMergeProcess.run(arguments)
            #expect(result.status == 2, "\(arguments): \(result.stderr)")
            #expect(result.stderr.contains(path), "\(arguments): \(result.stderr)")
            for raw in ["NSCocoaErrorDomain", "could not be completed", "Error Domain", "Foundation error"] {
                #expect(!result.stderr.contains(raw), "\(arguments): \(result.stderr)")
            }
            #expect(result.stderr.split(separator: "\n").count == 1, "\(arguments): \(result.stderr)")
        }
    }
}
