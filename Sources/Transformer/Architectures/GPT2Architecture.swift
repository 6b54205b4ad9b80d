extension TransformerConfig.Architecture {
    /// GPT-2: `GPT2LMHeadModel`.
    public static let gpt2 = Self(modelType: "gpt2", causalLMClassName: "GPT2LMHeadModel")
}

/// GPT-2 as transformers 5.23 builds it (`models/gpt2`).
///
/// Keys: `n_embd`, `n_head` (head size n_embd / n_head), `n_layer`, `n_inner` (default 4·n_embd), `vocab_size`,
/// `n_positions` (default 1024: the learned positions, so the longest prompt), `layer_norm_epsilon` (default 1e-5),
/// `activation_function` (gelu_new, gelu_pytorch_tanh or gelu, default gelu_new), `scale_attn_weights` (default true;
/// false: scores q·k unscaled), `tie_word_embeddings` (default true); `scale_attn_by_inverse_layer_idx` true and
/// `add_cross_attention` true are refused (`reorder_and_upcast_attn` computes the same float32 scores).
/// Recipe: token + learned position embeddings, pre-LayerNorms with bias, `Conv1D` weights stored `[in, out]` with
/// biases, fused `c_attn` (q | k | v), no RoPE, plain MLP, sequential residual.
enum GPT2Architecture: ArchitectureDefinition {
    static let architecture = TransformerConfig.Architecture.gpt2

    static func configure(_ keys: ConfigKeys) throws -> TransformerConfig {
        for key in ["scale_attn_by_inverse_layer_idx", "add_cross_attention"] where try keys.bool(key) == true {
            throw TransformerError(.unsupportedFeature, "GPT-2 \(key) true is not implemented")
        }
        let hidden = try keys.int("n_embd") ?? keys.requiredInt("hidden_size")
        let heads = try keys.int("n_head") ?? keys.requiredInt("num_attention_heads")
        guard heads > 0, hidden % heads == 0 else {
            throw TransformerError(.badConfig, "n_embd (\(hidden)) is not a multiple of n_head (\(heads))")
        }
        var config = TransformerConfig(
            architecture: architecture, hiddenSize: hidden, intermediateSize: try keys.int("n_inner") ?? 4 * hidden,
            layerCount: try keys.int("n_layer") ?? keys.requiredInt("num_hidden_layers"), attentionHeadCount: heads,
            vocabularySize: try keys.requiredInt("vocab_size"),
            maxPositionEmbeddings: try keys.int("n_positions") ?? 1024,
            rmsNormEpsilon: try keys.double("layer_norm_epsilon") ?? 1e-5, tieWordEmbeddings: true,
            queryKeyValueBias: true, outputProjectionBias: true)
        config.tieWordEmbeddings = try keys.bool("tie_word_embeddings") ?? true
        config.normKind = .layerNorm(bias: true)
        config.activation = try keys.plainActivation("activation_function", default: "gelu_new")
        if try keys.bool("scale_attn_weights") == false { config.queryPreAttentionScalar = 1 }
        config.rotaryDimension = 0
        config.naming = .gpt2
        return config
    }
}
