extension TransformerConfig.Architecture {
    /// Qwen3-MoE: `Qwen3MoeForCausalLM`.
    public static let qwen3Moe = Self(modelType: "qwen3_moe", causalLMClassName: "Qwen3MoeForCausalLM")
}

/// Qwen3-MoE as transformers 5.23 builds it (`models/qwen3_moe`): Qwen3's attention (per-head q/k RMSNorm, biases
/// with `attention_bias`) with a routed mixture of SwiGLU experts on the sparse layers — softmax over the router
/// logits, the top `num_experts_per_tok`, renormalised only with `norm_topk_prob` (``MixtureOfExperts``) — and a
/// dense MLP of width `intermediate_size` on the others.
///
/// Keys: the decoder sizes (`num_key_value_heads` default 4, `head_dim` default hidden / heads,
/// `max_position_embeddings` 32768), `hidden_act` (silu or gelu_pytorch_tanh, default silu), RoPE as Llama (θ default
/// 10000), `attention_bias` (default false), `use_sliding_window` (default false) with `sliding_window` (default
/// 4096) on every layer, `num_experts` (or `num_local_experts`, default 128; 0: every layer dense),
/// `num_experts_per_tok` (default 8), `moe_intermediate_size` (default 768), `norm_topk_prob` (default false),
/// `decoder_sparse_step` (default 1) and `mlp_only_layers` (default none), `tie_word_embeddings` (default false).
/// Weights: `mlp.gate.weight` and `mlp.experts.{e}.gate_proj|up_proj|down_proj.weight` on the sparse layers.
enum Qwen3MoeArchitecture: ArchitectureDefinition {
    static let architecture = TransformerConfig.Architecture.qwen3Moe

    static func configure(_ keys: ConfigKeys) throws -> TransformerConfig {
        try keys.refuseUnimplementedFeatures(allowingExperts: true)
        var config = try keys.decoderSizes(architecture, defaultKeyValueHeads: 4, defaultMaxPositions: 32768)
        config.activation = try keys.activation("hidden_act", default: "silu")
        (config.ropeTheta, config.ropeScaling) = try keys.rope(
            defaultTheta: 10_000, maxPositions: config.maxPositionEmbeddings)
        let bias = try keys.bool("attention_bias") ?? false
        config.queryKeyValueBias = bias
        config.outputProjectionBias = bias
        config.queryKeyNorm = true
        if try keys.bool("use_sliding_window") == true {
            config.slidingWindow = keys.isMissing("sliding_window") ? 4096 : try keys.int("sliding_window")
        }
        config.tieWordEmbeddings = try keys.bool("tie_word_embeddings") ?? false
        let expertCount = try keys.expertCount(default: 128)
        let sparse = try keys.sparseLayers(layerCount: config.layerCount)
        if expertCount != 0, sparse.contains(true) {
            config.experts = MixtureOfExperts(
                expertCount: expertCount, expertsPerToken: try keys.int("num_experts_per_tok") ?? 8,
                intermediateSize: try keys.int("moe_intermediate_size") ?? 768,
                normalizesTopK: try keys.bool("norm_topk_prob") ?? false,
                sparseLayers: sparse.allSatisfy { $0 } ? nil : sparse, naming: .qwen)
        }
        return config
    }
}
