extension TransformerConfig.Architecture {
    /// OLMo 2: `Olmo2ForCausalLM`.
    public static let olmo2 = Self(modelType: "olmo2", causalLMClassName: "Olmo2ForCausalLM")
}

/// OLMo 2 as transformers 5.23 builds it (`models/olmo2`).
///
/// Keys: the decoder sizes (`num_key_value_heads` default `num_attention_heads`, `head_dim` hidden / heads unless
/// stated, `max_position_embeddings` 2048, `rms_norm_eps` default 1e-5), `hidden_act` (default silu), RoPE as Llama
/// (θ default 10000), `attention_bias` (q/k/v/o, default false), `tie_word_embeddings` (default false). Recipe:
/// post-norm placement — no norm before attention or the MLP, RMSNorm (w) of each block's output
/// (`post_attention_layernorm`, `post_feedforward_layernorm`) before the residual sum —, q/k RMSNorm over the whole
/// projection (`q_norm` width heads·head_dim, `k_norm` kv_heads·head_dim) before RoPE, SwiGLU.
enum Olmo2Architecture: ArchitectureDefinition {
    static let architecture = TransformerConfig.Architecture.olmo2

    static func configure(_ keys: ConfigKeys) throws -> TransformerConfig {
        try keys.refuseUnimplementedFeatures()
        var config = try keys.decoderSizes(architecture, defaultMaxPositions: 2048)
        config.rmsNormEpsilon = try keys.double("rms_norm_eps") ?? 1e-5
        config.activation = try keys.activation("hidden_act", default: "silu")
        (config.ropeTheta, config.ropeScaling) = try keys.rope(
            defaultTheta: 10_000, maxPositions: config.maxPositionEmbeddings)
        let bias = try keys.bool("attention_bias") ?? false
        config.queryKeyValueBias = bias
        config.outputProjectionBias = bias
        config.tieWordEmbeddings = try keys.bool("tie_word_embeddings") ?? false
        config.normPlacement = .postNorm
        config.queryKeyNorm = true
        config.queryKeyNormAcrossHeads = true
        return config
    }
}
