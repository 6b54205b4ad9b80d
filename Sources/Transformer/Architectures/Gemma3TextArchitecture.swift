extension TransformerConfig.Architecture {
    /// Gemma 3 text-only: `Gemma3ForCausalLM` (`model_type` gemma3_text). The multimodal `gemma3` wrapper, whose
    /// text weights sit under `language_model.`, is not this.
    public static let gemma3Text = Self(modelType: "gemma3_text", causalLMClassName: "Gemma3ForCausalLM")
}

/// Gemma 3 text as transformers 5.23 builds it (`models/gemma3`): Gemma 2's recipe plus (1 + w) RMSNorms on
/// queries and keys per head, and a RoPE of their own for the sliding layers.
///
/// Keys: as ``Gemma2Architecture`` but `max_position_embeddings` default 131072, soft-capping off by default
/// (`attn_logit_softcapping`, `final_logit_softcapping` default null), `layer_types` default: every
/// `sliding_window_pattern`-th layer (default 6) full, the rest sliding; RoPE per layer type: `rope_parameters`
/// `{full_attention: …, sliding_attention: …}` (transformers 5), or older `rope_theta` (default 1e6) with
/// `rope_scaling` for the full layers and `rope_local_base_freq` (default 10000) for the sliding ones. The sliding
/// layers' RoPE must be of type default.
enum Gemma3TextArchitecture: ArchitectureDefinition {
    static let architecture = TransformerConfig.Architecture.gemma3Text

    static func configure(_ keys: ConfigKeys) throws -> TransformerConfig {
        try keys.refuseUnimplementedFeatures()
        try keys.refuseBidirectionalAttention()
        var config = try keys.decoderSizes(
            architecture, defaultKeyValueHeads: 4, defaultHeadDimension: 256, defaultMaxPositions: 131_072)
        try GemmaRecipe.apply(to: &config, keys)
        config.queryKeyNorm = true
        config.attentionSoftCap = try keys.double("attn_logit_softcapping")
        config.finalLogitSoftCap = try keys.double("final_logit_softcapping")
        let pattern = try keys.int("sliding_window_pattern") ?? 6
        guard pattern > 0 else {
            throw TransformerError(.badConfig, "sliding_window_pattern is \(pattern); expected a positive integer")
        }
        config.slidingLayers =
            try keys.slidingLayerTypes(layerCount: config.layerCount)
            ?? (0..<config.layerCount).map { ($0 + 1) % pattern != 0 }
        try readRope(keys, into: &config)
        return config
    }

    static func readRope(_ keys: ConfigKeys, into config: inout TransformerConfig) throws {
        let original = try keys.int("original_max_position_embeddings") ?? config.maxPositionEmbeddings
        let parameters = try keys.object("rope_parameters")
        // transformers: rope_parameters.full_attention (default {rope_type: default}), updated with rope_scaling.
        let legacy = try keys.object("rope_scaling")
        if var full = try parameters?.object("full_attention") {
            if let legacy { full = ConfigKeys(json: full.json.merging(legacy.json) { $1 }, path: full.path) }
            config.ropeTheta = try full.double("rope_theta") ?? keys.double("rope_theta") ?? 1_000_000
            config.ropeScaling = try RotaryScaling(
                full, originalMaxPositions: original, maxPositions: config.maxPositionEmbeddings)
        } else {
            config.ropeTheta = try keys.double("rope_theta") ?? 1_000_000
            config.ropeScaling =
                try legacy.map {
                    try RotaryScaling($0, originalMaxPositions: original, maxPositions: config.maxPositionEmbeddings)
                } ?? .none
        }
        if let sliding = try parameters?.object("sliding_attention") {
            guard (sliding.ropeType ?? "default") == "default" else {
                throw TransformerError(
                    .unsupportedFeature,
                    "rope_parameters.sliding_attention.rope_type \(sliding.ropeType ?? "") is not implemented; "
                        + "the sliding layers support default RoPE")
            }
            config.slidingRopeTheta = try sliding.double("rope_theta") ?? keys.double("rope_local_base_freq") ?? 10_000
        } else {
            config.slidingRopeTheta = try keys.double("rope_local_base_freq") ?? 10_000
        }
    }
}
