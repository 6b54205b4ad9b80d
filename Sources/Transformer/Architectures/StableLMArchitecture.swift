extension TransformerConfig.Architecture {
    /// StableLM (StableLM-3B-4E1T, StableLM 2): `StableLmForCausalLM`.
    public static let stableLM = Self(modelType: "stablelm", causalLMClassName: "StableLmForCausalLM")
}

/// StableLM as transformers 5.23 builds it (`models/stablelm`).
///
/// Keys: `hidden_size`, `num_attention_heads` (head size hidden / heads; `head_dim` is not read, as transformers
/// does not read it), `num_key_value_heads` (default `num_attention_heads`), `intermediate_size`,
/// `num_hidden_layers`, `vocab_size`, `max_position_embeddings` (default 4096), `layer_norm_eps` (default 1e-5),
/// `hidden_act` (silu or gelu_pytorch_tanh, default silu), `use_qkv_bias` (default false), `qk_layernorm` (default
/// false), `use_parallel_residual` (default false), RoPE: `rope_parameters` (or `rope_scaling`) with `rope_theta`
/// (default the top-level key, else 10000) and `partial_rotary_factor` (default the top-level key, else 0.25),
/// type default only; `tie_word_embeddings` (default false).
/// Recipe: LayerNorms with bias; q/k/v (optional biases), o without bias; per-head q/k LayerNorms when
/// `qk_layernorm`; rotary on the first ⌊head size · factor⌋ dims; SwiGLU without biases; sequential residual, or
/// parallel with the input norm feeding both attention and MLP.
enum StableLMArchitecture: ArchitectureDefinition {
    static let architecture = TransformerConfig.Architecture.stableLM

    static func configure(_ keys: ConfigKeys) throws -> TransformerConfig {
        try keys.refuseUnimplementedFeatures(exceptPartialRotary: true)
        var config = try keys.decoderSizes(architecture, defaultMaxPositions: 4096)
        let heads = config.attentionHeadCount
        guard heads > 0, config.hiddenSize % heads == 0 else {
            throw TransformerError(
                .badConfig,
                "hidden_size (\(config.hiddenSize)) is not a multiple of num_attention_heads (\(heads))")
        }
        config.headDimension = config.hiddenSize / heads
        config.normKind = .layerNorm(bias: true)
        config.rmsNormEpsilon = try keys.double("layer_norm_eps") ?? 1e-5
        config.activation = try keys.activation("hidden_act", default: "silu")
        config.queryKeyValueBias = try keys.bool("use_qkv_bias") ?? false
        config.parallelResidual = try keys.bool("use_parallel_residual") ?? false
        config.tieWordEmbeddings = try keys.bool("tie_word_embeddings") ?? false
        let parameters = try keys.object("rope_scaling") ?? keys.object("rope_parameters")
        if let type = parameters?.ropeType, type != "default" {
            throw TransformerError(
                .unsupportedFeature, "StableLM rope_type \(type) is not implemented; supported: default")
        }
        config.ropeTheta = try parameters?.double("rope_theta") ?? keys.double("rope_theta") ?? 10_000
        let factor =
            try parameters?.double("partial_rotary_factor") ?? keys.double("partial_rotary_factor") ?? 0.25
        config.rotaryDimension = try ConfigKeys.rotaryDimension(
            headDimension: config.headDimension, factor: factor, key: "partial_rotary_factor")
        var naming = TensorNaming.stableLM
        if config.parallelResidual { naming.postAttentionNorm = nil }
        if try keys.bool("qk_layernorm") ?? false {
            naming.perHeadQueryNorm = "self_attn.q_layernorm.norms"
            naming.perHeadKeyNorm = "self_attn.k_layernorm.norms"
        }
        config.naming = naming
        return config
    }
}
