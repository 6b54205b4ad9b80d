extension TransformerConfig.Architecture {
    /// Granite (3.x dense): `GraniteForCausalLM`.
    public static let granite = Self(modelType: "granite", causalLMClassName: "GraniteForCausalLM")
}

/// Granite as transformers 5.23 builds it (`models/granite`): Llama with four scalar multipliers.
///
/// Keys: Llama's (the decoder sizes — `head_dim` default hidden / heads, read when present as transformers'
/// `getattr` does —, `max_position_embeddings` 2048, `rms_norm_eps` 1e-6, `hidden_act` default silu, RoPE,
/// `attention_bias`, `tie_word_embeddings` default false) and
/// `embedding_multiplier` (embedding rows × m), `residual_multiplier` (each block adds m · f(…)),
/// `attention_multiplier` (the factor on q·k, replacing 1/√head_dim) and `logits_scaling` (logits / s), each
/// default 1. Recipe: Llama's pre-norm RMSNorm (w), GQA, SwiGLU, with those four factors.
enum GraniteArchitecture: ArchitectureDefinition {
    static let architecture = TransformerConfig.Architecture.granite

    static func configure(_ keys: ConfigKeys) throws -> TransformerConfig {
        var config = try LlamaArchitecture.configure(keys)
        config.architecture = architecture
        config.embeddingMultiplier = try keys.double("embedding_multiplier") ?? 1
        config.residualMultiplier = try keys.double("residual_multiplier") ?? 1
        config.attentionMultiplier = try keys.double("attention_multiplier") ?? 1
        config.logitsScaling = try keys.double("logits_scaling") ?? 1
        return config
    }
}
