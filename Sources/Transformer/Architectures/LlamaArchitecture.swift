extension TransformerConfig.Architecture {
    /// Llama (1, 2, 3.x): `LlamaForCausalLM`.
    public static let llama = Self(modelType: "llama", causalLMClassName: "LlamaForCausalLM")
}

/// Llama as transformers 5.23 builds it (`models/llama`).
///
/// Keys: the decoder sizes (`num_key_value_heads` default `num_attention_heads`, `head_dim` default hidden / heads,
/// `max_position_embeddings` 2048, `rms_norm_eps` 1e-6), `hidden_act` (silu or gelu_pytorch_tanh, default silu), RoPE
/// (`rope_parameters` or `rope_scaling` + `rope_theta`, θ default 10000; types default, linear, llama3, yarn, dynamic),
/// `attention_bias` (biases on q/k/v/o, default false), `tie_word_embeddings` (default false). Recipe: pre-norm RMSNorm
/// (w), GQA attention 1/√head_dim, SwiGLU, no window, no soft-capping.
enum LlamaArchitecture: ArchitectureDefinition {
    static let architecture = TransformerConfig.Architecture.llama

    static func configure(_ keys: ConfigKeys) throws -> TransformerConfig {
        try keys.refuseUnimplementedFeatures()
        var config = try keys.decoderSizes(architecture, defaultMaxPositions: 2048)
        config.activation = try keys.activation("hidden_act", default: "silu")
        (config.ropeTheta, config.ropeScaling) = try keys.rope(
            defaultTheta: 10_000, maxPositions: config.maxPositionEmbeddings)
        let bias = try keys.bool("attention_bias") ?? false
        config.queryKeyValueBias = bias
        config.outputProjectionBias = bias
        config.tieWordEmbeddings = try keys.bool("tie_word_embeddings") ?? false
        return config
    }
}
