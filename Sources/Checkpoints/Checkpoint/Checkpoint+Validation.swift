import Foundation
import JSONCore
import SafeTensors

extension Checkpoint {
    /// How strictly ``Checkpoint/init(directory:validation:)`` treats an inconsistent checkpoint.
    public enum Validation: Sendable {
        /// The first problem is thrown: what every command that reads weights uses.
        case strict
        /// Every problem is collected in ``Checkpoint/problems`` and the checkpoint opens as far as it can
        /// (`metamerge inspect` lists them all).
        case collect
    }

    /// The weight_map of `model.safetensors.index.json`: tensor name → shard file name.
    ///
    /// A shard name that is absolute, contains a path separator or `..` is refused: shards live in the model
    /// directory.
    static func weightMap(fromIndex url: URL) throws -> [String: String] {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw CheckpointError(
                .unreadableFile, url: url, "cannot read the file: \(FileErrorReason.reason(error, url: url))",
                cause: error)
        }
        let node: JSONNode
        do {
            node = try ModelConfig.parse([UInt8](data))
        } catch {
            throw CheckpointError(.badIndex, url: url, "is not valid JSON (\(error.reason))", cause: error)
        }
        var weightMap: [String: JSONNode] = [:]
        guard case .object(let root) = node,
            case .object(let entries)? = root.last(where: { $0.key == "weight_map" })?.value
        else {
            throw CheckpointError(.badIndex, url: url, "expected a JSON object with a \"weight_map\" object")
        }
        for entry in entries { weightMap[entry.key] = entry.value }
        var result: [String: String] = [:]
        for key in weightMap.keys.sorted() {
            guard case .string(let shard)? = weightMap[key] else {
                throw CheckpointError(.badIndex, url: url, tensor: key, "weight_map value is not a file name")
            }
            guard !shard.isEmpty, !shard.contains("/"), !shard.contains("\\"), shard != "..", shard != "." else {
                throw CheckpointError(
                    .unsafePath, url: url, tensor: key,
                    "names shard '\(shard)', which is not a plain file name inside the model directory")
            }
            result[key] = shard
        }
        return result
    }

    /// Problems between the index and the shards: a tensor the index maps to a shard that does not hold it, and
    /// a tensor a shard holds that the index maps elsewhere or not at all.
    static func indexProblems(
        _ weightMap: [String: String], indexURL: URL, files: [SafeTensorsFile]
    ) -> [CheckpointError] {
        var problems: [CheckpointError] = []
        var holder: [String: String] = [:]
        for file in files {
            for info in file.tensors where holder[info.name] == nil { holder[info.name] = file.url.lastPathComponent }
        }
        let loaded = Set(files.map(\.url.lastPathComponent))
        for (tensor, shard) in weightMap.sorted(by: { $0.key < $1.key }) where loaded.contains(shard) {
            if holder[tensor] != shard {
                let actual = holder[tensor].map { "it is stored in \($0)" } ?? "no shard named by the index stores it"
                problems.append(
                    CheckpointError(
                        .badIndex, url: indexURL, tensor: tensor, "is mapped to \(shard), but \(actual)"))
            }
        }
        for (tensor, shard) in holder.sorted(by: { $0.key < $1.key }) where weightMap[tensor] == nil {
            problems.append(
                CheckpointError(
                    .badIndex, url: indexURL, tensor: tensor,
                    "is stored in \(shard) but not listed in the index's weight_map"))
        }
        return problems
    }

    /// Quantized checkpoints: a `quantization_config` in config.json, or packed-integer tensors (`qweight`,
    /// `qzeros`, `scales`, `g_idx`, bitsandbytes' `absmax` / `quant_map` / `SCB`). Their integers are not weights.
    static func quantizationProblems(
        config: ModelConfig, configURL: URL, tensorNames: [String], directory: URL
    )
        -> [CheckpointError]
    {
        if let quantization = config.json["quantization_config"] {
            let method = quantization.objectValue?["quant_method"]?.stringValue ?? "quantized"
            let label = method.uppercased() == method.lowercased() ? method : Self.quantizationLabel(method)
            return [
                CheckpointError(
                    .quantized, url: configURL,
                    "\(label) checkpoints are not supported (config.json has a quantization_config): dequantize to "
                        + "float16/bfloat16/float32 safetensors first, e.g. load with transformers and save_pretrained")
            ]
        }
        let suffixes = [".qweight", ".qzeros", ".scales", ".g_idx", ".absmax", ".quant_map", ".SCB", ".weight_format"]
        if let packed = tensorNames.first(where: { name in suffixes.contains { name.hasSuffix($0) } }) {
            return [
                CheckpointError(
                    .quantized, url: directory, tensor: packed,
                    "is a quantized checkpoint's packed tensor (GPTQ / AWQ / bitsandbytes): quantized checkpoints are "
                        + "not supported; dequantize first")
            ]
        }
        return []
    }

    private static func quantizationLabel(_ method: String) -> String {
        switch method.lowercased() {
        case "gptq": "GPTQ-quantized"
        case "awq": "AWQ-quantized"
        case "bitsandbytes": "bitsandbytes-quantized"
        default: "\(method)-quantized"
        }
    }

    /// An untied head that is not stored: transformers would not tie it (`tie_word_embeddings: false`, or no such
    /// key and the `model_type`'s default is untied, ``ModelConfig/wordEmbeddingsTied``), the weights hold an
    /// embedding but no head. Reading the embedding as the head would merge and run another model than the one
    /// transformers loads (it would initialise a random head).
    static func headProblems(config: ModelConfig, configURL: URL, infos: [String: TensorInfo]) -> [CheckpointError] {
        let embeddings = [config.tiedEmbeddingName].compactMap { $0 } + embeddingNames
        guard config.wordEmbeddingsTied == false, !storesHead(config: config, isStored: { infos[$0] != nil }),
            let embedding = embeddings.first(where: { infos[$0] != nil })
        else { return [] }
        return [
            CheckpointError(
                .missingTensor, url: configURL, tensor: "lm_head.weight",
                "is not stored, but \(config.wordEmbeddingsTiedReason) (the head is not \(embedding)); "
                    + "expected lm_head.weight in the weights, or tie_word_embeddings: true if the embedding is the "
                    + "head")
        ]
    }

    /// For `model_type` llama, mistral and qwen2 (whose layer layout is known exactly), the sizes config.json gives
    /// against layer 0's projections as transformers builds them: q_proj has num_attention_heads × head_dim rows
    /// (head_dim defaults to hidden_size / num_attention_heads), k_proj and v_proj num_key_value_heads × head_dim
    /// (default num_attention_heads), gate_proj and up_proj intermediate_size rows, down_proj intermediate_size
    /// columns. A size that is absent, or a tensor that is not stored, is not checked.
    static func layerShapeProblems(config: ModelConfig, configURL: URL, infos: [String: TensorInfo])
        -> [CheckpointError]
    {
        guard let type = config.modelType, ["llama", "mistral", "qwen2"].contains(type) else { return [] }
        let heads = config.int("num_attention_heads")
        let keyValueHeads = config.int("num_key_value_heads") ?? heads
        var headDim = config.int("head_dim")
        if headDim == nil, let hidden = config.int("hidden_size"), let heads, heads > 0, hidden % heads == 0 {
            headDim = hidden / heads
        }
        let intermediate = config.int("intermediate_size")
        func product(_ a: Int?, _ b: Int?, _ keys: String) -> (Int, String)? {
            guard let a, let b else { return nil }
            let (value, overflow) = a.multipliedReportingOverflow(by: b)
            return overflow ? nil : (value, keys)
        }
        let prefix = "model.layers.0."
        let checks: [(String, Int, (Int, String)?)] = [
            ("self_attn.q_proj.weight", 0, product(heads, headDim, "num_attention_heads × head_dim")),
            ("self_attn.k_proj.weight", 0, product(keyValueHeads, headDim, "num_key_value_heads × head_dim")),
            ("self_attn.v_proj.weight", 0, product(keyValueHeads, headDim, "num_key_value_heads × head_dim")),
            ("mlp.gate_proj.weight", 0, intermediate.map { ($0, "intermediate_size") }),
            ("mlp.up_proj.weight", 0, intermediate.map { ($0, "intermediate_size") }),
            ("mlp.down_proj.weight", 1, intermediate.map { ($0, "intermediate_size") }),
        ]
        var problems: [CheckpointError] = []
        for (suffix, axis, expected) in checks {
            guard let (size, keys) = expected, let info = infos[prefix + suffix], info.shape.count == 2,
                info.shape[axis] != size
            else { continue }
            problems.append(
                CheckpointError(
                    .shapeMismatch, url: configURL, tensor: prefix + suffix,
                    "has \(info.shape[axis]) \(axis == 0 ? "rows" : "columns"), but config.json gives \(keys) = "
                        + "\(size)"))
        }
        return problems
    }

    /// config.json against the tensors. Sizes are read under the architecture's own keys (``ModelConfig/size(_:)``:
    /// GPT-2's `n_layer`, `n_embd`). The decoder layers are the `<prefix>.<layers|h|blocks|layer>.<i>.…` tensors
    /// (`model.layers.`, or the one such prefix the checkpoint has: GPT-2 and Falcon `transformer.h.`, GPT-NeoX
    /// `gpt_neox.layers.`); their count must equal the layer count — which a `model.layers.<i>` layout (the Llama
    /// family) must state. `vocab_size` and `hidden_size`, where given, must equal the embedding / lm_head rows and
    /// the embedding's columns. Every per-layer list (``ModelConfig/perLayerListKeys``) must hold one entry per
    /// layer (the config's count, else the weights' layers).
    static func configProblems(config: ModelConfig, configURL: URL, infos: [String: TensorInfo]) -> [CheckpointError] {
        var counts: [String: Int] = [:]
        for name in infos.keys {
            if let (prefix, index) = layerPosition(name) { counts[prefix] = max(counts[prefix] ?? 0, index + 1) }
        }
        let decoder = counts["model.layers."] != nil ? "model.layers." : counts.count == 1 ? counts.keys.first : nil
        let layerCount = decoder.flatMap { counts[$0] }
        var problems: [CheckpointError] = []
        let architecture = config.architecture ?? config.modelType ?? "model"
        let configLayers = config.size("num_hidden_layers")
        if let layerCount {
            if let (key, layers) = configLayers {
                if layers != layerCount {
                    problems.append(
                        CheckpointError(
                            .badConfig, url: configURL,
                            "says \(key) = \(layers), but the weights hold layers 0…\(layerCount - 1) "
                                + "(\(layerCount) layers)"
                        ))
                }
            } else if decoder == "model.layers." {
                problems.append(
                    CheckpointError(
                        .badConfig, url: configURL,
                        "has no integer '\(config.sizeKey("num_hidden_layers"))', which a \(architecture) checkpoint "
                            + "needs"))
            }
        }
        // Lists follow the config's count (a count that disagrees with the weights is reported above, once).
        if let expected = configLayers?.value ?? layerCount {
            let source =
                configLayers.map { "config.json says \($0.key) = \($0.value)" } ?? "the weights hold \(expected) layers"
            for key in ModelConfig.perLayerListKeys {
                guard let list = config.json[key]?.arrayValue, list.count != expected else { continue }
                problems.append(
                    CheckpointError(
                        .badConfig, url: configURL,
                        "'\(key)' has \(list.count) entries, but \(source): expected one entry per layer"))
            }
        }
        problems += layerShapeProblems(config: config, configURL: configURL, infos: infos)
        guard layerCount != nil else { return problems }
        let hidden = config.size("hidden_size")
        let vocabulary = config.size("vocab_size")
        // A size given but not read as a count (a string, a fraction, 2^62) would otherwise be skipped unseen.
        for (key, value) in [("hidden_size", hidden), ("vocab_size", vocabulary)] where value == nil {
            let spelled = config.sizeKey(key)
            if let given = config.json[spelled], given != .null {
                let shown =
                    switch given {
                    case .number(let number): "\(number)"
                    case .string(let text): "the string \"\(text.prefix(40))\""
                    default: "not a number"
                    }
                problems.append(
                    CheckpointError(
                        .badConfig, url: configURL,
                        "has '\(spelled)' = \(shown), which is not a size; expected a whole number below 2^53"))
            }
        }
        let embedding = ([config.tiedEmbeddingName].compactMap { $0 } + embeddingNames).first { infos[$0] != nil }
        for name in [embedding, "lm_head.weight"].compactMap({ $0 }) {
            guard let info = infos[name], info.shape.count == 2 else { continue }
            if let (key, vocabulary) = vocabulary, info.shape[0] != vocabulary {
                problems.append(
                    CheckpointError(
                        .shapeMismatch, url: configURL, tensor: name,
                        "has \(info.shape[0]) rows, but config.json says \(key) = \(vocabulary)"))
            }
            if let (key, hidden) = hidden, info.shape[1] != hidden {
                problems.append(
                    CheckpointError(
                        .shapeMismatch, url: configURL, tensor: name,
                        "has \(info.shape[1]) columns, but config.json says \(key) = \(hidden)"))
            }
        }
        return problems
    }

    /// The layer a tensor belongs to: the name up to and including its first `layers.`, `h.`, `blocks.` or
    /// `layer.` component followed by an index (`transformer.h.`), and that index.
    static func layerPosition(_ name: String) -> (prefix: String, index: Int)? {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        for (offset, part) in parts.enumerated().dropLast() where ["layers", "h", "blocks", "layer"].contains(part) {
            if let index = Int(parts[offset + 1]), index >= 0 {
                return (parts[...offset].joined(separator: ".") + ".", index)
            }
        }
        return nil
    }
}
