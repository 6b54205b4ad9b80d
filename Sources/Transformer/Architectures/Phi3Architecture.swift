import Checkpoints
import Foundation

extension TransformerConfig.Architecture {
    /// Phi-3 (mini, small, medium, 3.5-mini, Phi-4-mini): `Phi3ForCausalLM`.
    public static let phi3 = Self(modelType: "phi3", causalLMClassName: "Phi3ForCausalLM")
}

/// Phi-3 as transformers 5.23 builds it (`models/phi3`).
///
/// Keys: the decoder sizes (`num_key_value_heads` default `num_attention_heads`, `head_dim` hidden / heads unless
/// stated, `max_position_embeddings` 4096, `rms_norm_eps` default 1e-5), `hidden_act` (default silu),
/// `tie_word_embeddings` (default false), `sliding_window` (default null; when set, on every layer),
/// `partial_rotary_factor` (`rope_parameters.partial_rotary_factor`, else the top-level key, default 1: RoPE rotates
/// the first ⌊head_dim · f⌋ entries of each head), and RoPE: `rope_scaling` when set, else `rope_parameters`, with
/// its `rope_theta` (else the top-level one, default 10000), of type `default` or `longrope` (the older names `su`
/// and `yarn` mean `longrope`, as Phi3Config reads them): `short_factor` and `long_factor` (⌊head_dim · f⌋ / 2
/// numbers each), the switch length `original_max_position_embeddings` (the top-level key, default 4096, wins over
/// the one in the RoPE object, as transformers' `standardize_rope_params` does), `factor` (default
/// max_position_embeddings / original) and `attention_factor` (default √(1 + ln factor / ln original), 1 when
/// factor ≤ 1). Recipe: Llama's pre-norm RMSNorm (w), GQA, SwiGLU, with q/k/v as row ranges of
/// `self_attn.qkv_proj` and gate/up as the two halves of `mlp.gate_up_proj`; no biases.
enum Phi3Architecture: ArchitectureDefinition {
    static let architecture = TransformerConfig.Architecture.phi3

    static func configure(_ keys: ConfigKeys) throws -> TransformerConfig {
        // partial_rotary_factor is read below; everything else the shared refusals cover.
        try ConfigKeys(json: keys.json.filter { $0.key != "partial_rotary_factor" }).refuseUnimplementedFeatures()
        var config = try keys.decoderSizes(architecture, defaultMaxPositions: 4096)
        config.rmsNormEpsilon = try keys.double("rms_norm_eps") ?? 1e-5
        config.activation = try keys.activation("hidden_act", default: "silu")
        config.tieWordEmbeddings = try keys.bool("tie_word_embeddings") ?? false
        config.slidingWindow = try keys.int("sliding_window")
        config.fusedProjections = true
        let parameters = try keys.object("rope_scaling") ?? keys.object("rope_parameters")
        let factor = try parameters?.double("partial_rotary_factor") ?? keys.double("partial_rotary_factor") ?? 1
        guard factor > 0, factor <= 1 else { throw rotaryFactorError(factor, config) }
        config.rotaryDimension = Int(Double(config.headDimension) * factor)  // transformers' int(head_dim · f)
        // Phi3Config: rope_scaling (when set) replaces rope_parameters, whose own rope_theta and partial_rotary_factor
        // win over the top-level keys (setdefault).
        config.ropeTheta = try parameters?.double("rope_theta") ?? keys.double("rope_theta") ?? 10_000
        config.ropeScaling = try longRope(parameters, keys, config)
        guard config.rotatedDimensions >= 2, config.rotatedDimensions % 2 == 0 else {
            throw rotaryFactorError(factor, config)
        }
        return config
    }

    /// A `partial_rotary_factor` outside (0, 1] or that rotates fewer than 2 or an odd number of entries.
    private static func rotaryFactorError(_ factor: Double, _ config: TransformerConfig) -> TransformerError {
        TransformerError(
            .badConfig,
            "partial_rotary_factor is \(factor); expected a factor in (0, 1] that rotates an even "
                + "number of at least 2 of head_dim's \(config.headDimension) entries")
    }

    /// The RoPE type of a Phi-3 `rope_parameters` object: none (`default`) or longrope.
    private static func longRope(
        _ parameters: ConfigKeys?, _ keys: ConfigKeys, _ config: TransformerConfig
    ) throws -> RotaryScaling {
        guard let parameters else { return .none }
        let kind = parameters.ropeType ?? "default"
        switch kind {
        case "default": return .none
        case "longrope", "su", "yarn": break
        default:
            throw TransformerError(
                .unsupportedFeature,
                "\(parameters.path)rope_type \(kind) is not implemented for phi3; supported: default, longrope")
        }
        let original = try keys.int("original_max_position_embeddings") ?? 4096
        guard original > 1 else {
            throw TransformerError(
                .badConfig, "original_max_position_embeddings is \(original); longrope needs an integer above 1")
        }
        let factor = try parameters.double("factor") ?? Double(config.maxPositionEmbeddings) / Double(original)
        let attention =
            try parameters.double("attention_factor")
            ?? (factor <= 1 ? 1 : (1 + Foundation.log(factor) / Foundation.log(Double(original))).squareRoot())
        let count = config.rotatedDimensions / 2
        func factors(_ key: String) throws -> [Double] {
            let path = "\(parameters.path)\(key)"
            guard case .array(let items)? = parameters.value(key) else {
                throw TransformerError(.badConfig, "config.json has no \(path) list; longrope needs it")
            }
            let numbers = items.compactMap { item -> Double? in
                if case .number(let number) = item { number } else { nil }
            }
            guard numbers.count == items.count, numbers.count == count else {
                throw TransformerError(
                    .badConfig,
                    "config.json key \(path) has \(items.count) entries; expected \(count) numbers "
                        + "(half the rotary dimension)")
            }
            return numbers
        }
        return .longrope(
            shortFactors: try factors("short_factor"), longFactors: try factors("long_factor"),
            originalMaxPositions: original, attentionFactor: attention)
    }
}
