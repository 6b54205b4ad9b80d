import Checkpoints

/// Typed access to `config.json` keys that tells a wrong type apart from an absent key (`null` counts as absent),
/// and the readers every architecture shares (sizes, RoPE, layer types). Messages name the key with its path
/// (`rope_parameters.factor`).
struct ConfigKeys {
    let json: [String: JSONValue]
    /// Prefix of every key named in a message: "" at the top level, "rope_parameters." inside that object.
    var path = ""

    func value(_ key: String) -> JSONValue? {
        switch json[key] {
        case nil, .null?: nil
        case let value?: value
        }
    }

    /// `value` as a message says it: "the string \"1e-6\"", "the number 4.6e+18", "an array", ….
    static func describe(_ value: JSONValue) -> String {
        switch value {
        case .null: "null"
        case .bool(let flag): "\(flag)"
        case .number(let number): "the number \(number)"
        case .string(let text): "the string \"\(text.count > 40 ? String(text.prefix(40)) + "…" : text)\""
        case .array: "an array"
        case .object: "an object"
        }
    }

    /// Whether `key` is missing from the file (an explicit `null` is present): transformers gives a missing key its
    /// class default, a `null` the value None.
    func isMissing(_ key: String) -> Bool { json[key] == nil }

    func int(_ key: String) throws -> Int? {
        guard let value = value(key) else { return nil }
        guard case .number(let number) = value, number.rounded() == number, abs(number) < 9e15 else {
            throw TransformerError(
                .badConfig, "config.json key \(path)\(key) is \(Self.describe(value)); expected an integer")
        }
        return Int(number)
    }

    func requiredInt(_ key: String) throws -> Int {
        guard let value = try int(key) else {
            throw TransformerError(.badConfig, "config.json has no \(path)\(key); the forward pass needs it")
        }
        return value
    }

    func double(_ key: String) throws -> Double? {
        guard let value = value(key) else { return nil }
        guard case .number(let number) = value else {
            throw TransformerError(
                .badConfig, "config.json key \(path)\(key) is \(Self.describe(value)); expected a number")
        }
        return number
    }

    func requiredDouble(_ key: String, for feature: String) throws -> Double {
        guard let value = try double(key) else {
            throw TransformerError(.badConfig, "config.json has no \(path)\(key); \(feature) needs it")
        }
        return value
    }

    func bool(_ key: String) throws -> Bool? {
        guard let value = value(key) else { return nil }
        guard case .bool(let flag) = value else {
            throw TransformerError(
                .badConfig, "config.json key \(path)\(key) is \(Self.describe(value)); expected true or false")
        }
        return flag
    }

    func string(_ key: String) throws -> String? {
        guard let value = value(key) else { return nil }
        guard case .string(let text) = value else {
            throw TransformerError(
                .badConfig, "config.json key \(path)\(key) is \(Self.describe(value)); expected a string")
        }
        return text
    }

    func object(_ key: String) throws -> ConfigKeys? {
        guard let value = value(key) else { return nil }
        guard case .object(let object) = value else {
            throw TransformerError(
                .badConfig, "config.json key \(path)\(key) is \(Self.describe(value)); expected an object")
        }
        return ConfigKeys(json: object, path: "\(path)\(key).")
    }

    func strings(_ key: String) -> [String]? {
        guard case .array(let items)? = value(key) else { return nil }
        return items.compactMap { if case .string(let text) = $0 { text } else { nil } }
    }

    // MARK: - Shared readers

    /// The sizes every decoder states, with the architecture's defaults for `num_key_value_heads` (nil: equal to
    /// `num_attention_heads`) and `head_dim` (nil: `hidden_size / num_attention_heads`).
    func decoderSizes(
        _ architecture: TransformerConfig.Architecture, defaultKeyValueHeads: Int? = nil,
        defaultHeadDimension: Int? = nil, defaultMaxPositions: Int
    ) throws -> TransformerConfig {
        let hiddenSize = try requiredInt("hidden_size")
        let heads = try requiredInt("num_attention_heads")
        let headDimension: Int
        if let explicit = try int("head_dim") ?? defaultHeadDimension {
            headDimension = explicit
        } else {
            guard heads > 0, hiddenSize % heads == 0 else {
                throw TransformerError(
                    .badConfig,
                    "config.json has no head_dim and hidden_size (\(hiddenSize)) is not a multiple of "
                        + "num_attention_heads (\(heads))"
                )
            }
            headDimension = hiddenSize / heads
        }
        return TransformerConfig(
            architecture: architecture,
            hiddenSize: hiddenSize,
            intermediateSize: try requiredInt("intermediate_size"),
            layerCount: try requiredInt("num_hidden_layers"),
            attentionHeadCount: heads,
            keyValueHeadCount: try int("num_key_value_heads") ?? defaultKeyValueHeads ?? heads,
            headDimension: headDimension,
            vocabularySize: try requiredInt("vocab_size"),
            maxPositionEmbeddings: try int("max_position_embeddings") ?? defaultMaxPositions,
            rmsNormEpsilon: try double("rms_norm_eps") ?? 1e-6)
    }

    /// Refuses what no architecture of the table implements: mixture-of-experts keys, a `quantization_config`,
    /// `mlp_bias`, a `partial_rotary_factor` ≠ 1. A mixture-of-experts architecture reads its expert keys itself
    /// (`allowingExperts`); a partial-rotary one its rotary factor (`exceptPartialRotary`).
    func refuseUnimplementedFeatures(allowingExperts: Bool = false, exceptPartialRotary: Bool = false) throws {
        if try bool("mlp_bias") == true {
            throw TransformerError(
                .unsupportedFeature, "mlp_bias true (biases on gate/up/down_proj) is not implemented")
        }
        for key in ["num_local_experts", "num_experts", "n_routed_experts"] where !allowingExperts {
            if let count = try int(key), count > 0 {
                throw TransformerError(
                    .unsupportedFeature,
                    "\(key) = \(count): mixture-of-experts is implemented for model_type mixtral and qwen3_moe only")
            }
        }
        if value("quantization_config") != nil {
            throw TransformerError(
                .unsupportedFeature,
                "quantization_config is set: quantized checkpoints are not implemented; use a float checkpoint")
        }
        if !exceptPartialRotary, let factor = try double("partial_rotary_factor"), factor != 1 {
            throw TransformerError(.unsupportedFeature, "partial_rotary_factor \(factor) is not implemented")
        }
    }

    /// The MLP activation named by `key`, refusing one the table's MLP kinds lack.
    func activation(_ key: String, default fallback: String) throws -> TransformerConfig.Activation {
        let name = try string(key) ?? fallback
        switch name {
        case "silu", "swish": return .silu
        case "gelu_pytorch_tanh": return .geluTanh
        default:
            throw TransformerError(
                .unsupportedFeature,
                "\(key) \(name) is not implemented; supported: silu (SwiGLU), gelu_pytorch_tanh (GeGLU)")
        }
    }

    /// The RoPE of a non-nested config: `rope_parameters` (transformers 5) or `rope_scaling` + `rope_theta` (older
    /// files). Returns θ (default `defaultTheta`) and the scaling; refuses an unknown `rope_type` by name.
    func rope(defaultTheta: Double, maxPositions: Int) throws -> (theta: Double, scaling: RotaryScaling) {
        let parameters = try object("rope_parameters")
        let legacy = try object("rope_scaling")
        let theta = try double("rope_theta") ?? parameters?.double("rope_theta") ?? defaultTheta
        if let parameters, let factor = try parameters.double("partial_rotary_factor"), factor != 1 {
            throw TransformerError(
                .unsupportedFeature, "rope_parameters.partial_rotary_factor \(factor) is not implemented")
        }
        // rope_scaling wins when it names a type (transformers moves it into rope_parameters).
        let source = [legacy, parameters].compactMap { $0 }.first { $0.ropeType != nil } ?? parameters
        guard let source else { return (theta, .none) }
        let fallbackOriginal = try int("original_max_position_embeddings") ?? maxPositions
        return (
            theta, try RotaryScaling(source, originalMaxPositions: fallbackOriginal, maxPositions: maxPositions)
        )
    }

    /// `rope_type` (or the older `type`) of a RoPE object.
    var ropeType: String? {
        for key in ["rope_type", "type"] {
            if case .string(let kind)? = json[key] { return kind }
        }
        return nil
    }

    /// The window of a Qwen2-style config: `sliding_window` (default 4096 when missing) only with
    /// `use_sliding_window`, on the layers `layer_types` marks, else on those from `max_window_layers` (default 28) on.
    func qwenSlidingWindow(layerCount: Int) throws -> (window: Int?, layers: [Bool]?) {
        let window = isMissing("sliding_window") ? 4096 : try int("sliding_window")
        guard try bool("use_sliding_window") == true, let window else {
            _ = try slidingLayerTypes(layerCount: layerCount)  // still refuses unknown entries
            return (nil, nil)
        }
        let first = try int("max_window_layers") ?? 28
        let layers = try slidingLayerTypes(layerCount: layerCount) ?? (0..<layerCount).map { $0 >= first }
        return layers.contains(true) ? (window, layers) : (nil, nil)
    }

    /// Refuses `use_bidirectional_attention` true (Gemma's encoder-style attention).
    func refuseBidirectionalAttention() throws {
        if try bool("use_bidirectional_attention") == true {
            throw TransformerError(
                .unsupportedFeature, "use_bidirectional_attention true is not implemented; the forward pass is causal")
        }
    }

    /// `layer_types` as "does layer ℓ slide", checked: one known entry per layer; nil when absent.
    func slidingLayerTypes(layerCount: Int) throws -> [Bool]? {
        guard let value = value("layer_types") else { return nil }
        guard case .array(let items) = value else {
            throw TransformerError(
                .badConfig, "config.json key layer_types is \(Self.describe(value)); expected an array of strings")
        }
        var sliding: [Bool] = []
        for item in items {
            switch item {
            case .string("full_attention"): sliding.append(false)
            case .string("sliding_attention"): sliding.append(true)
            default:
                throw TransformerError(
                    .unsupportedFeature,
                    "layer_types entry \(item) is not implemented; supported: full_attention, sliding_attention")
            }
        }
        guard sliding.count == layerCount else {
            throw TransformerError(
                .badConfig,
                "config.json layer_types has \(sliding.count) entries for num_hidden_layers = \(layerCount)")
        }
        return sliding
    }
}
