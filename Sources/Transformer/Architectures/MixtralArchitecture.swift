extension TransformerConfig.Architecture {
    /// Mixtral: `MixtralForCausalLM`.
    public static let mixtral = Self(modelType: "mixtral", causalLMClassName: "MixtralForCausalLM")
}

/// Mixtral as transformers 5.23 builds it (`models/mixtral`): Mistral's attention (no biases, an optional window on
/// every layer) with a routed mixture of SwiGLU experts in place of every MLP — softmax over the router logits, the
/// top `num_experts_per_tok`, their probabilities renormalised to sum to 1 (``MixtureOfExperts``).
///
/// Keys: the decoder sizes (`num_key_value_heads` default 8, `head_dim` default hidden / heads,
/// `max_position_embeddings` 131072, `intermediate_size` is each expert's width), `hidden_act` (silu or
/// gelu_pytorch_tanh, default silu), RoPE as Llama (θ default 1e6), `sliding_window` (default none),
/// `num_local_experts` (or `num_experts`, default 8), `num_experts_per_tok` (default 2), `router_jitter_noise`
/// (training only: checked, no effect), `tie_word_embeddings` (default false). Weights as stored on the Hub:
/// `block_sparse_moe.gate.weight` and `block_sparse_moe.experts.{e}.w1|w3|w2.weight`.
enum MixtralArchitecture: ArchitectureDefinition {
    static let architecture = TransformerConfig.Architecture.mixtral

    static func configure(_ keys: ConfigKeys) throws -> TransformerConfig {
        try keys.refuseUnimplementedFeatures(allowingExperts: true)
        var config = try keys.decoderSizes(architecture, defaultKeyValueHeads: 8, defaultMaxPositions: 131_072)
        config.activation = try keys.activation("hidden_act", default: "silu")
        (config.ropeTheta, config.ropeScaling) = try keys.rope(
            defaultTheta: 1_000_000, maxPositions: config.maxPositionEmbeddings)
        config.slidingWindow = try keys.int("sliding_window")
        config.tieWordEmbeddings = try keys.bool("tie_word_embeddings") ?? false
        try keys.checkRouterJitter()
        config.experts = MixtureOfExperts(
            expertCount: try keys.expertCount(default: 8), expertsPerToken: try keys.int("num_experts_per_tok") ?? 2,
            intermediateSize: config.intermediateSize, normalizesTopK: true, naming: .mixtral)
        return config
    }
}
