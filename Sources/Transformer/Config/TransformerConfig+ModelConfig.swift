import Checkpoints

extension TransformerConfig {
    /// Reads a Llama, Mistral or Qwen2 `config.json`, refusing by name everything the forward pass does not implement.
    ///
    /// Supported: `model_type` `llama`, `mistral`, `qwen2` (or, without `model_type`, `architectures`
    /// `LlamaForCausalLM`, `MistralForCausalLM`, `Qwen2ForCausalLM`) with `hidden_act` `silu` (or its alias
    /// `swish`), default RoPE (`rope_theta` or `rope_parameters.rope_theta`), grouped-query attention, an explicit
    /// `head_dim`, tied or untied embeddings, and attention biases as transformers builds them: Llama on q/k/v/o
    /// when `attention_bias`, Qwen2 on q/k/v always, Mistral never.
    ///
    /// Absent keys take transformers' defaults: `num_key_value_heads` = `num_attention_heads`, `head_dim` =
    /// `hidden_size / num_attention_heads`, `rms_norm_eps` = 1e-6, `rope_theta` = 10000, `tie_word_embeddings` =
    /// false, `max_position_embeddings` = 2048 (Llama), 131072 (Mistral), 32768 (Qwen2).
    ///
    /// - Throws: ``TransformerError`` — `.unsupportedArchitecture` for another model type; `.unsupportedFeature`
    ///   for `rope_scaling` / `rope_parameters.rope_type` other than `default`, a `partial_rotary_factor` ≠ 1,
    ///   mixture-of-experts keys (`num_local_experts`, `num_experts`, `n_routed_experts`), `mlp_bias`, another
    ///   `hidden_act`, a `quantization_config`, or unknown `layer_types`; `.badConfig` for missing or
    ///   inconsistent sizes. A sliding window is accepted here and enforced per prompt by the forward pass.
    public init(_ config: ModelConfig) throws {
        try self.init(json: config.json)
    }

    /// ``init(_:)`` on the `config.json` of `checkpoint`; an error names that file.
    public init(checkpoint: Checkpoint) throws {
        do {
            try self.init(checkpoint.config)
        } catch let error as TransformerError {
            let file = checkpoint.directory.appendingPathComponent("config.json").path
            throw TransformerError(error.kind, "\(file): \(error.description)", prompt: error.prompt)
        }
    }

    /// ``init(_:)`` on the keys of a `config.json` object.
    public init(json: [String: JSONValue]) throws {
        let keys = ConfigKeys(json: json)
        let architecture = try keys.architecture()
        try keys.refuseUnsupportedFeatures()

        let hiddenSize = try keys.requiredInt("hidden_size")
        let heads = try keys.requiredInt("num_attention_heads")
        let headDimension: Int
        if let explicit = try keys.int("head_dim") {
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
        let defaultMaxPositions =
            switch architecture {
            case .llama: 2048
            case .mistral: 131_072
            case .qwen2: 32768
            }
        let attentionBias = try keys.bool("attention_bias") ?? false
        let layerCount = try keys.requiredInt("num_hidden_layers")

        self.init(
            architecture: architecture,
            hiddenSize: hiddenSize,
            intermediateSize: try keys.requiredInt("intermediate_size"),
            layerCount: layerCount,
            attentionHeadCount: heads,
            keyValueHeadCount: try keys.int("num_key_value_heads") ?? heads,
            headDimension: headDimension,
            vocabularySize: try keys.requiredInt("vocab_size"),
            maxPositionEmbeddings: try keys.int("max_position_embeddings") ?? defaultMaxPositions,
            rmsNormEpsilon: try keys.double("rms_norm_eps") ?? 1e-6,
            ropeTheta: try keys.ropeTheta() ?? 10_000,
            tieWordEmbeddings: try keys.bool("tie_word_embeddings") ?? false,
            queryKeyValueBias: architecture == .qwen2 || (architecture == .llama && attentionBias),
            outputProjectionBias: architecture == .llama && attentionBias,
            slidingWindow: try keys.slidingWindow(architecture, layerCount: layerCount))
        try validate()
    }
}

/// Typed access to `config.json` keys that tells a wrong type apart from an absent key (`null` counts as absent).
private struct ConfigKeys {
    let json: [String: JSONValue]

    static let supportedModelTypes = TransformerConfig.Architecture.allCases.map(\.rawValue)
    static let supportedClasses = TransformerConfig.Architecture.allCases.map(\.causalLMClassName)

    func value(_ key: String) -> JSONValue? {
        switch json[key] {
        case nil, .null?: nil
        case let value?: value
        }
    }

    func int(_ key: String) throws -> Int? {
        guard let value = value(key) else { return nil }
        guard case .number(let number) = value, number.rounded() == number, abs(number) < 9e15 else {
            throw TransformerError(.badConfig, "config.json key \(key) is \(Self.describe(value)); expected an integer")
        }
        return Int(number)
    }

    func requiredInt(_ key: String) throws -> Int {
        guard let value = try int(key) else {
            throw TransformerError(.badConfig, "config.json has no \(key); a Llama-family model needs it")
        }
        return value
    }

    func double(_ key: String) throws -> Double? {
        guard let value = value(key) else { return nil }
        guard case .number(let number) = value else {
            throw TransformerError(.badConfig, "config.json key \(key) is \(Self.describe(value)); expected a number")
        }
        return number
    }

    func bool(_ key: String) throws -> Bool? {
        guard let value = value(key) else { return nil }
        guard case .bool(let flag) = value else {
            throw TransformerError(
                .badConfig, "config.json key \(key) is \(Self.describe(value)); expected true or false")
        }
        return flag
    }

    func string(_ key: String) throws -> String? {
        guard let value = value(key) else { return nil }
        guard case .string(let text) = value else {
            throw TransformerError(.badConfig, "config.json key \(key) is \(Self.describe(value)); expected a string")
        }
        return text
    }

    func object(_ key: String) throws -> [String: JSONValue]? {
        guard let value = value(key) else { return nil }
        guard case .object(let object) = value else {
            throw TransformerError(.badConfig, "config.json key \(key) is \(Self.describe(value)); expected an object")
        }
        return object
    }

    func strings(_ key: String) -> [String]? {
        guard case .array(let items)? = value(key) else { return nil }
        return items.compactMap { if case .string(let text) = $0 { text } else { nil } }
    }

    /// The family, from `model_type`, else from `architectures`; any `architectures` entry must be a causal LM
    /// of a supported family (a `…ForSequenceClassification` has no `lm_head` to run).
    func architecture() throws -> TransformerConfig.Architecture {
        let modelType = try string("model_type")
        let classes = strings("architectures") ?? []
        let supported =
            "supported: model_type \(Self.supportedModelTypes.joined(separator: ", ")) "
            + "(\(Self.supportedClasses.joined(separator: ", ")))"
        if let unknown = classes.first(where: { !Self.supportedClasses.contains($0) }) {
            throw TransformerError(
                .unsupportedArchitecture,
                "architecture \(unknown)\(modelType.map { " (model_type \($0))" } ?? "") is not implemented by the "
                    + "forward pass; \(supported)"
            )
        }
        if let modelType {
            guard let architecture = TransformerConfig.Architecture(rawValue: modelType) else {
                throw TransformerError(
                    .unsupportedArchitecture,
                    "model_type \(modelType) is not implemented by the forward pass; \(supported)")
            }
            return architecture
        }
        if let name = classes.first,
            let architecture = TransformerConfig.Architecture.allCases.first(where: { $0.causalLMClassName == name })
        {
            return architecture
        }
        throw TransformerError(
            .unsupportedArchitecture, "config.json has neither model_type nor architectures; \(supported)")
    }

    func refuseUnsupportedFeatures() throws {
        if let activation = try string("hidden_act"), activation != "silu", activation != "swish" {
            throw TransformerError(
                .unsupportedFeature, "hidden_act \(activation) is not implemented; the SwiGLU MLP needs silu")
        }
        if try bool("mlp_bias") == true {
            throw TransformerError(
                .unsupportedFeature, "mlp_bias true (biases on gate/up/down_proj) is not implemented")
        }
        for key in ["num_local_experts", "num_experts", "n_routed_experts"] {
            if let count = try int(key), count > 0 {
                throw TransformerError(
                    .unsupportedFeature, "\(key) = \(count): mixture-of-experts models are not implemented")
            }
        }
        if value("quantization_config") != nil {
            throw TransformerError(
                .unsupportedFeature,
                "quantization_config is set: quantized checkpoints are not implemented; use a float checkpoint")
        }
        if let scaling = try object("rope_scaling") {
            let kind = Self.ropeType(scaling) ?? "unnamed"
            if kind != "default" {
                throw TransformerError(
                    .unsupportedFeature, "rope_scaling of type \(kind) is not implemented; only default RoPE is")
            }
        }
        if let parameters = try object("rope_parameters") {
            if let kind = Self.ropeType(parameters), kind != "default" {
                throw TransformerError(
                    .unsupportedFeature, "rope_parameters.rope_type \(kind) is not implemented; only default RoPE is")
            }
            if case .number(let factor)? = parameters["partial_rotary_factor"], factor != 1 {
                throw TransformerError(
                    .unsupportedFeature, "rope_parameters.partial_rotary_factor \(factor) is not implemented")
            }
        }
        if let factor = try double("partial_rotary_factor"), factor != 1 {
            throw TransformerError(.unsupportedFeature, "partial_rotary_factor \(factor) is not implemented")
        }
        if let layerTypes = strings("layer_types"),
            let other = layerTypes.first(where: { $0 != "full_attention" && $0 != "sliding_attention" })
        {
            throw TransformerError(.unsupportedFeature, "layer_types entry \(other) is not implemented")
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

    static func ropeType(_ object: [String: JSONValue]) -> String? {
        for key in ["rope_type", "type"] {
            if case .string(let kind)? = object[key] { return kind }
        }
        return nil
    }

    func ropeTheta() throws -> Double? {
        if let theta = try double("rope_theta") { return theta }
        switch try object("rope_parameters")?["rope_theta"] {
        case nil, .null?: return nil
        case .number(let theta)?: return theta
        case let other?:
            throw TransformerError(
                .badConfig, "config.json key rope_parameters.rope_theta is \(Self.describe(other)); expected a number")
        }
    }

    /// The window in force, as transformers decides it: Mistral uses `sliding_window` on every layer; Qwen2 only
    /// with `use_sliding_window`, on the layers `layer_types` marks (or those from `max_window_layers` on).
    func slidingWindow(_ architecture: TransformerConfig.Architecture, layerCount: Int) throws -> Int? {
        guard let window = try int("sliding_window") else { return nil }
        switch architecture {
        case .llama:
            return nil
        case .mistral:
            return window
        case .qwen2:
            guard try bool("use_sliding_window") == true else { return nil }
            if let layerTypes = strings("layer_types") {
                return layerTypes.contains("sliding_attention") ? window : nil
            }
            let firstSlidingLayer = try int("max_window_layers") ?? 28
            return layerCount > firstSlidingLayer ? window : nil
        }
    }
}
