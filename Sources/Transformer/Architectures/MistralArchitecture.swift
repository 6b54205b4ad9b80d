extension TransformerConfig.Architecture {
    /// Mistral: `MistralForCausalLM`.
    public static let mistral = Self(modelType: "mistral", causalLMClassName: "MistralForCausalLM")
}

/// Mistral as transformers 5.23 builds it (`models/mistral`): Llama without biases, with one sliding window on
/// every layer.
///
/// Keys: the decoder sizes (`num_key_value_heads` default 8, `head_dim` default hidden / heads,
/// `max_position_embeddings` 131072), `hidden_act` (silu or gelu_pytorch_tanh, default silu), RoPE as Llama (θ default
/// 10000), `sliding_window` (default 4096 when the key is missing, none when `null`; `layer_types` is ignored, as
/// transformers ignores it), `tie_word_embeddings` (default false).
enum MistralArchitecture: ArchitectureDefinition {
    static let architecture = TransformerConfig.Architecture.mistral

    static func configure(_ keys: ConfigKeys) throws -> TransformerConfig {
        try keys.refuseUnimplementedFeatures()
        var config = try keys.decoderSizes(architecture, defaultKeyValueHeads: 8, defaultMaxPositions: 131_072)
        config.activation = try keys.activation("hidden_act", default: "silu")
        (config.ropeTheta, config.ropeScaling) = try keys.rope(
            defaultTheta: 10_000, maxPositions: config.maxPositionEmbeddings)
        config.slidingWindow = keys.isMissing("sliding_window") ? 4096 : try keys.int("sliding_window")
        config.tieWordEmbeddings = try keys.bool("tie_word_embeddings") ?? false
        return config
    }
}
