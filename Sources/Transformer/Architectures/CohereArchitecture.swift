extension TransformerConfig.Architecture {
    /// Cohere Command-R: `CohereForCausalLM`.
    public static let cohere = Self(modelType: "cohere", causalLMClassName: "CohereForCausalLM")
}

/// Cohere as transformers 5.23 builds it (`models/cohere`).
///
/// Keys: the decoder sizes (`num_key_value_heads` default `num_attention_heads`, `head_dim` default hidden / heads,
/// `max_position_embeddings` 8192), `layer_norm_eps` (default 1e-5), `hidden_act` (silu or gelu_pytorch_tanh, default
/// silu), `attention_bias` (q/k/v/o, default false), `logit_scale` (default 0.0625; null: none), RoPE
/// (`rope_parameters` / `rope_scaling` + `rope_theta`, θ default 500000, type default only), `tie_word_embeddings`
/// (default true), `use_qk_norm` (default false).
/// Recipe: parallel block x ← x + Attn(LN(x)) + MLP(LN(x)) with one LayerNorm without bias, per-head q/k LayerNorms
/// (`q_norm.weight` `[heads, head_dim]`) when `use_qk_norm`, RoPE on interleaved pairs, SwiGLU, logits × logit_scale.
enum CohereArchitecture: ArchitectureDefinition {
    static let architecture = TransformerConfig.Architecture.cohere

    static func configure(_ keys: ConfigKeys) throws -> TransformerConfig {
        try keys.refuseUnimplementedFeatures()
        var config = try keys.decoderSizes(architecture, defaultMaxPositions: 8192)
        config.normKind = .layerNorm(bias: false)
        config.rmsNormEpsilon = try keys.double("layer_norm_eps") ?? 1e-5
        config.activation = try keys.activation("hidden_act", default: "silu")
        let bias = try keys.bool("attention_bias") ?? false
        config.queryKeyValueBias = bias
        config.outputProjectionBias = bias
        config.logitScale = keys.isMissing("logit_scale") ? 0.0625 : try keys.double("logit_scale")
        if let scale = config.logitScale, !scale.isFinite {
            throw TransformerError(.badConfig, "logit_scale is \(scale); expected a finite number")
        }
        let parameters = try keys.object("rope_scaling") ?? keys.object("rope_parameters")
        if let type = parameters?.ropeType, type != "default" {
            throw TransformerError(
                .unsupportedFeature, "Cohere rope_type \(type) is not implemented; supported: default")
        }
        config.ropeTheta = try parameters?.double("rope_theta") ?? keys.double("rope_theta") ?? 500_000
        config.interleavedRotary = true
        config.parallelResidual = true
        config.tieWordEmbeddings = try keys.bool("tie_word_embeddings") ?? true
        var naming = TensorNaming.cohere
        if try keys.bool("use_qk_norm") ?? false {
            naming.perHeadQueryNorm = "self_attn.q_norm"
            naming.perHeadKeyNorm = "self_attn.k_norm"
            naming.perHeadNormsStacked = true
        }
        config.naming = naming
        return config
    }
}
