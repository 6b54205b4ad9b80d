extension TransformerConfig.Architecture {
    /// Gemma 2: `Gemma2ForCausalLM`.
    public static let gemma2 = Self(modelType: "gemma2", causalLMClassName: "Gemma2ForCausalLM")
}

/// Gemma 2 as transformers 5.23 builds it (`models/gemma2`).
///
/// Keys: the decoder sizes (`num_key_value_heads` default 4, `head_dim` default 256, `max_position_embeddings`
/// 8192), `hidden_activation` (gelu_pytorch_tanh; `hidden_act` is not read, as transformers does not read it), RoPE
/// as Llama (θ default 10000), `attention_bias` (q/k/v/o, default false), `query_pre_attn_scalar` (default 256),
/// `attn_logit_softcapping` (default 50) and `final_logit_softcapping` (default 30) — `null` turns either off —,
/// `sliding_window` (default 4096) on the layers `layer_types` marks (default: the even layers 0, 2, …),
/// `tie_word_embeddings` (default true); `use_bidirectional_attention` true is refused.
/// Recipe: (1 + w) RMSNorms in sandwich placement, √hidden embedding scale, GeGLU.
enum Gemma2Architecture: ArchitectureDefinition {
    static let architecture = TransformerConfig.Architecture.gemma2

    static func configure(_ keys: ConfigKeys) throws -> TransformerConfig {
        try keys.refuseUnimplementedFeatures()
        try keys.refuseBidirectionalAttention()
        var config = try keys.decoderSizes(
            architecture, defaultKeyValueHeads: 4, defaultHeadDimension: 256, defaultMaxPositions: 8192)
        try GemmaRecipe.apply(to: &config, keys)
        (config.ropeTheta, config.ropeScaling) = try keys.rope(
            defaultTheta: 10_000, maxPositions: config.maxPositionEmbeddings)
        config.attentionSoftCap =
            keys.isMissing("attn_logit_softcapping")
            ? 50 : try keys.double("attn_logit_softcapping")
        config.finalLogitSoftCap =
            keys.isMissing("final_logit_softcapping")
            ? 30 : try keys.double("final_logit_softcapping")
        config.slidingLayers =
            try keys.slidingLayerTypes(layerCount: config.layerCount)
            ?? (0..<config.layerCount).map { ($0 + 1) % 2 != 0 }
        return config
    }
}

/// What Gemma 2 and Gemma 3 text share: norms, MLP, embedding scale, attention scale, window, biases, tying.
enum GemmaRecipe {
    static func apply(to config: inout TransformerConfig, _ keys: ConfigKeys) throws {
        config.normWeight = .onePlusWeight
        config.normPlacement = .sandwich
        config.activation = try keys.activation("hidden_activation", default: "gelu_pytorch_tanh")
        config.scalesEmbeddings = true
        config.queryPreAttentionScalar = try keys.double("query_pre_attn_scalar") ?? 256
        let bias = try keys.bool("attention_bias") ?? false
        config.queryKeyValueBias = bias
        config.outputProjectionBias = bias
        config.slidingWindow = keys.isMissing("sliding_window") ? 4096 : try keys.int("sliding_window")
        config.tieWordEmbeddings = try keys.bool("tie_word_embeddings") ?? true
    }
}
