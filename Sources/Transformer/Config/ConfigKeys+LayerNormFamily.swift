extension ConfigKeys {
    /// The activation of a plain (ungated) MLP named by `key`: gelu (exact), gelu_new or gelu_pytorch_tanh (tanh
    /// approximation), silu; others are refused by name.
    func plainActivation(_ key: String, default fallback: String) throws -> TransformerConfig.Activation {
        let name = try string(key) ?? fallback
        switch name {
        case "gelu": return .gelu
        case "gelu_new", "gelu_pytorch_tanh": return .geluTanh
        case "silu", "swish": return .silu
        default:
            throw TransformerError(
                .unsupportedFeature,
                "\(key) \(name) is not implemented; supported: gelu, gelu_new, gelu_pytorch_tanh, silu")
        }
    }

    /// The rotary dimension ⌊headDimension · factor⌋ (transformers' `int(head_dim * partial_rotary_factor)`),
    /// checked: factor in (0, 1], an even result.
    static func rotaryDimension(headDimension: Int, factor: Double, key: String) throws -> Int {
        guard factor > 0, factor <= 1 else {
            throw TransformerError(.badConfig, "\(key) is \(factor); expected a number in (0, 1]")
        }
        let dimension = Int(Double(headDimension) * factor)
        guard dimension % 2 == 0 else {
            throw TransformerError(
                .badConfig,
                "\(key) \(factor) gives \(dimension) rotary dims of head size \(headDimension); rotary embeddings "
                    + "need an even number")
        }
        return dimension
    }
}
