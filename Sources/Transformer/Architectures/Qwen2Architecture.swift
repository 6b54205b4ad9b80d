extension TransformerConfig.Architecture {
    /// Qwen2 and Qwen2.5: `Qwen2ForCausalLM`.
    public static let qwen2 = Self(modelType: "qwen2", causalLMClassName: "Qwen2ForCausalLM")
}

/// Qwen2 as transformers 5.23 builds it (`models/qwen2`): Llama with biases on q/k/v (always, none on o) and
/// optional sliding windows.
///
/// Keys: the decoder sizes (`num_key_value_heads` default 32, `head_dim` default hidden / heads,
/// `max_position_embeddings` 32768), `hidden_act` (silu or gelu_pytorch_tanh, default silu), RoPE as Llama (θ default
/// 10000), `use_sliding_window` (default false) with `sliding_window` (default 4096) on the layers `layer_types` marks
/// `sliding_attention`, or without `layer_types` on layers ≥ `max_window_layers` (default 28), `tie_word_embeddings`
/// (default false).
enum Qwen2Architecture: ArchitectureDefinition {
    static let architecture = TransformerConfig.Architecture.qwen2

    static func configure(_ keys: ConfigKeys) throws -> TransformerConfig {
        try keys.refuseUnimplementedFeatures()
        var config = try keys.decoderSizes(architecture, defaultKeyValueHeads: 32, defaultMaxPositions: 32768)
        config.activation = try keys.activation("hidden_act", default: "silu")
        (config.ropeTheta, config.ropeScaling) = try keys.rope(
            defaultTheta: 10_000, maxPositions: config.maxPositionEmbeddings)
        config.queryKeyValueBias = true
        (config.slidingWindow, config.slidingLayers) = try keys.qwenSlidingWindow(layerCount: config.layerCount)
        config.tieWordEmbeddings = try keys.bool("tie_word_embeddings") ?? false
        return config
    }
}
