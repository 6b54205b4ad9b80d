extension TransformerConfig.Architecture {
    /// GPT-NeoX and Pythia: `GPTNeoXForCausalLM`.
    public static let gptNeoX = Self(modelType: "gpt_neox", causalLMClassName: "GPTNeoXForCausalLM")
}

/// GPT-NeoX as transformers 5.23 builds it (`models/gpt_neox`).
///
/// Keys: `hidden_size`, `num_attention_heads` (head size hidden / heads; no grouped-query attention:
/// `num_key_value_heads` and `head_dim` are not read, as transformers does not read them), `intermediate_size`,
/// `num_hidden_layers`, `vocab_size`, `max_position_embeddings` (default 2048), `layer_norm_eps` (default 1e-5),
/// `hidden_act` (gelu, gelu_new or gelu_pytorch_tanh, default gelu), `use_parallel_residual` (default true),
/// `attention_bias` (biases on query_key_value and dense, default true), RoPE: `rope_parameters` (or `rope_scaling`)
/// with `rope_theta` (default `rotary_emb_base`, else 10000) and `partial_rotary_factor` (default `rotary_pct`, else
/// 0.25), type default only; `tie_word_embeddings` (default false).
/// Recipe: LayerNorms with bias, fused query_key_value interleaved per head, rotary on the first
/// ⌊head size · factor⌋ dims of each head, plain MLP dense_h_to_4h → act → dense_4h_to_h with biases, parallel or
/// sequential residual.
enum GPTNeoXArchitecture: ArchitectureDefinition {
    static let architecture = TransformerConfig.Architecture.gptNeoX

    static func configure(_ keys: ConfigKeys) throws -> TransformerConfig {
        try keys.refuseUnimplementedFeatures()
        var config = try keys.decoderSizes(architecture, defaultMaxPositions: 2048)
        let heads = config.attentionHeadCount
        guard heads > 0, config.hiddenSize % heads == 0 else {
            throw TransformerError(
                .badConfig,
                "hidden_size (\(config.hiddenSize)) is not a multiple of num_attention_heads (\(heads))")
        }
        config.keyValueHeadCount = heads
        config.headDimension = config.hiddenSize / heads
        config.normKind = .layerNorm(bias: true)
        config.rmsNormEpsilon = try keys.double("layer_norm_eps") ?? 1e-5
        config.activation = try keys.plainActivation("hidden_act", default: "gelu")
        config.parallelResidual = try keys.bool("use_parallel_residual") ?? true
        let bias = try keys.bool("attention_bias") ?? true
        config.queryKeyValueBias = bias
        config.outputProjectionBias = bias
        config.tieWordEmbeddings = try keys.bool("tie_word_embeddings") ?? false
        // transformers: rope_parameters = rope_scaling or rope_parameters or {}, with rope_theta defaulting to
        // rotary_emb_base and partial_rotary_factor to rotary_pct.
        let parameters = try keys.object("rope_scaling") ?? keys.object("rope_parameters")
        if let type = parameters?.ropeType, type != "default" {
            throw TransformerError(
                .unsupportedFeature, "GPT-NeoX rope_type \(type) is not implemented; supported: default")
        }
        config.ropeTheta = try parameters?.double("rope_theta") ?? keys.double("rotary_emb_base") ?? 10_000
        let factor = try parameters?.double("partial_rotary_factor") ?? keys.double("rotary_pct") ?? 0.25
        config.rotaryDimension = try ConfigKeys.rotaryDimension(
            headDimension: config.headDimension, factor: factor, key: "partial_rotary_factor (rotary_pct)")
        config.naming = .gptNeoX
        return config
    }
}
