extension TransformerConfig.Architecture {
    /// Qwen3 (dense): `Qwen3ForCausalLM`.
    public static let qwen3 = Self(modelType: "qwen3", causalLMClassName: "Qwen3ForCausalLM")
}

/// Qwen3 as transformers 5.23 builds it (`models/qwen3`): Qwen2's windows, a per-head RMSNorm (w) on queries and
/// keys before RoPE, biases only with `attention_bias` (on q/k/v/o).
///
/// Keys: the decoder sizes (`num_key_value_heads` default 32, `head_dim` default 128, `max_position_embeddings` 32768),
/// `hidden_act` (silu or gelu_pytorch_tanh, default silu), RoPE as Llama (θ default 10000), `attention_bias` (default
/// false), the windows as Qwen2 (`use_sliding_window`, `sliding_window`, `layer_types`, `max_window_layers`),
/// `tie_word_embeddings` (default false).
enum Qwen3Architecture: ArchitectureDefinition {
    static let architecture = TransformerConfig.Architecture.qwen3

    static func configure(_ keys: ConfigKeys) throws -> TransformerConfig {
        try keys.refuseUnimplementedFeatures()
        var config = try keys.decoderSizes(
            architecture, defaultKeyValueHeads: 32, defaultHeadDimension: 128, defaultMaxPositions: 32768)
        config.activation = try keys.activation("hidden_act", default: "silu")
        (config.ropeTheta, config.ropeScaling) = try keys.rope(
            defaultTheta: 10_000, maxPositions: config.maxPositionEmbeddings)
        let bias = try keys.bool("attention_bias") ?? false
        config.queryKeyValueBias = bias
        config.outputProjectionBias = bias
        config.queryKeyNorm = true
        (config.slidingWindow, config.slidingLayers) = try keys.qwenSlidingWindow(layerCount: config.layerCount)
        config.tieWordEmbeddings = try keys.bool("tie_word_embeddings") ?? false
        return config
    }
}
