import Foundation

/// A RoPE `rope_type` of transformers' `modeling_rope_utils.py`: how the inverse frequencies
/// inv_freq[i] = 1 / θ^(2i/d) (i = 0..<d/2) are rescaled, and the factor applied to cos and sin.
///
/// Computed in Float32 as transformers computes them (its tensors are float32; Python scalars enter as Float32).
/// `longrope` is read by Phi-3's architecture file only; elsewhere it and any other type are refused by name.
public enum RotaryScaling: Sendable, Hashable {
    /// `default`: inv_freq unchanged, cos/sin unscaled.
    case none
    /// `linear`: inv_freq / factor.
    case linear(factor: Double)
    /// `llama3` (Llama 3.1): with wavelength λ = 2π / inv_freq, old context L = original_max_position_embeddings:
    /// λ > L / low_freq_factor → inv_freq / factor; λ < L / high_freq_factor → unchanged; between, the blend
    /// (1 − s) inv_freq / factor + s inv_freq with s = (L / λ − low) / (high − low).
    case llama3(factor: Double, lowFrequencyFactor: Double, highFrequencyFactor: Double, originalMaxPositions: Int)
    /// `yarn`: interpolation inv_freq / factor blended with extrapolation inv_freq by a linear ramp over the
    /// dimensions between the correction range of β_fast and β_slow rotations (truncated to integers when
    /// `truncate`), and cos/sin scaled by the attention factor (given, else from mscale / mscale_all_dim, else
    /// 0.1 ln(factor) + 1).
    case yarn(
        factor: Double, originalMaxPositions: Int, attentionFactor: Double, betaFast: Double, betaSlow: Double,
        truncate: Bool)
    /// `dynamic` (NTK-aware): for a prompt of n > max_position_embeddings = M tokens the base becomes
    /// θ · (factor · n / M − (factor − 1))^(d / (d − 2)); prompts of n ≤ M use θ. Each prompt gets the frequencies
    /// of its own length — transformers' per-call update on a fresh model (its cache of the longest length seen
    /// makes a later, shorter prompt above M depend on the calls before it; this does not).
    case dynamic(factor: Double, maxPositions: Int)
    /// `longrope` (Phi-3; built by its architecture file, ``Phi3Architecture``): inv_freq[i] / ext[i] with ext the
    /// `short_factor` list for a prompt of n ≤ original_max_position_embeddings tokens and the `long_factor` list
    /// beyond it (transformers switches on the prompt's length), and cos/sin scaled by the attention factor.
    case longrope(shortFactors: [Double], longFactors: [Double], originalMaxPositions: Int, attentionFactor: Double)

    /// Reads a `rope_parameters` (or `rope_scaling`) object; `originalMaxPositions` is used where the object has
    /// no `original_max_position_embeddings`.
    init(_ keys: ConfigKeys, originalMaxPositions fallback: Int, maxPositions: Int) throws {
        let kind = keys.ropeType ?? "default"
        switch kind {
        case "default":
            self = .none
        case "linear":
            self = .linear(factor: try keys.requiredDouble("factor", for: "linear RoPE scaling"))
        case "llama3":
            self = .llama3(
                factor: try keys.requiredDouble("factor", for: "llama3 RoPE"),
                lowFrequencyFactor: try keys.requiredDouble("low_freq_factor", for: "llama3 RoPE"),
                highFrequencyFactor: try keys.requiredDouble("high_freq_factor", for: "llama3 RoPE"),
                originalMaxPositions: try keys.int("original_max_position_embeddings") ?? fallback)
        case "dynamic":
            self = .dynamic(
                factor: try keys.requiredDouble("factor", for: "dynamic RoPE scaling"), maxPositions: maxPositions)
        case "yarn":
            let original = try keys.int("original_max_position_embeddings") ?? fallback
            let factor = try keys.requiredDouble("factor", for: "yarn RoPE")
            func scale(_ mscale: Double) -> Double { factor <= 1 ? 1 : 0.1 * mscale * Foundation.log(factor) + 1 }
            let attention: Double
            if let given = try keys.double("attention_factor") {
                attention = given
            } else if let mscale = try keys.double("mscale"), let all = try keys.double("mscale_all_dim"),
                mscale != 0, all != 0
            {
                attention = scale(mscale) / scale(all)
            } else {
                attention = scale(1)
            }
            self = .yarn(
                factor: factor, originalMaxPositions: original, attentionFactor: attention,
                betaFast: try keys.double("beta_fast").flatMap { $0 == 0 ? nil : $0 } ?? 32,
                betaSlow: try keys.double("beta_slow").flatMap { $0 == 0 ? nil : $0 } ?? 1,
                truncate: try keys.bool("truncate") ?? true)
        default:
            throw TransformerError(
                .unsupportedFeature,
                "\(keys.path)rope_type \(kind) is not implemented; supported: default, linear, llama3, yarn, dynamic")
        }
        try validate(keys.path)
    }

    func validate(_ path: String = "") throws {
        let factors: [(String, Double)]
        switch self {
        case .none: factors = []
        case .linear(let factor): factors = [("factor", factor)]
        case .dynamic(let factor, _): factors = [("factor", factor)]
        case .llama3(let factor, let low, let high, let original):
            factors = [
                ("factor", factor), ("low_freq_factor", low), ("original_max_position_embeddings", Double(original)),
            ]
            guard high > low else {
                throw TransformerError(
                    .badConfig, "\(path)high_freq_factor (\(high)) must exceed \(path)low_freq_factor (\(low))")
            }
        case .yarn(let factor, let original, let attention, let fast, let slow, _):
            factors = [
                ("factor", factor), ("original_max_position_embeddings", Double(original)),
                ("attention_factor", attention), ("beta_fast", fast), ("beta_slow", slow),
            ]
        case .longrope(let short, let long, let original, let attention):
            factors =
                [("original_max_position_embeddings", Double(original)), ("attention_factor", attention)]
                + short.map { ("short_factor entry", $0) } + long.map { ("long_factor entry", $0) }
        }
        for (key, value) in factors where !(value > 0 && value.isFinite) {
            throw TransformerError(.badConfig, "\(path)\(key) is \(value); expected a finite positive number")
        }
    }

    /// Whether the frequencies depend on the prompt's length (then ``frequencies(theta:headDimension:promptLength:)``
    /// is asked once per distinct length).
    var dependsOnPromptLength: Bool {
        switch self {
        case .dynamic, .longrope: return true
        default: return false
        }
    }

    /// The inverse frequencies for head dimension `d` and base `theta`, and the factor on cos and sin, for a prompt
    /// of `promptLength` tokens (only `dynamic` and `longrope` read it).
    func frequencies(
        theta: Double, headDimension d: Int, promptLength: Int = 0
    ) -> (inverse: [Float], attentionScaling: Float) {
        let half = d / 2
        var base = Float(theta)
        if case .dynamic(let factor, let maxPositions) = self, promptLength > maxPositions {
            // transformers: base * ((factor * seq_len / max_position_embeddings) - (factor - 1)) ** (dim / (dim - 2)),
            // on float32 tensors.
            let f = Float(factor)
            let stretch = f * Float(promptLength) / Float(maxPositions) - (f - 1)
            base = base * Foundation.pow(stretch, Float(Double(d) / Double(d - 2)))
        }
        let plain = (0..<half).map { i -> Float in 1 / Foundation.pow(base, Float(2 * i) / Float(d)) }
        switch self {
        case .none, .dynamic:
            return (plain, 1)
        case .longrope(let short, let long, let original, let attention):
            // transformers: 1.0 / (ext_factors * base ** (arange(0, dim, 2).float() / dim)), float32.
            let ext = promptLength > original ? long : short
            let inverse = (0..<half).map { i -> Float in
                1 / (Float(ext[i]) * Foundation.pow(base, Float(2 * i) / Float(d)))
            }
            return (inverse, Float(attention))
        case .linear(let factor):
            return (plain.map { $0 / Float(factor) }, 1)
        case .llama3(let factor, let lowFactor, let highFactor, let original):
            let f = Float(factor), low = Float(lowFactor), high = Float(highFactor), old = Float(original)
            let lowWavelength = Float(Double(original) / lowFactor)
            let highWavelength = Float(Double(original) / highFactor)
            let inverse = plain.map { frequency -> Float in
                let wavelength = Float(2 * Double.pi) / frequency
                let scaled = wavelength > lowWavelength ? frequency / f : frequency
                guard !(wavelength < highWavelength), !(wavelength > lowWavelength) else { return scaled }
                let smooth = (old / wavelength - low) / (high - low)
                return (1 - smooth) * scaled / f + smooth * scaled
            }
            return (inverse, 1)
        case .yarn(let factor, let original, let attention, let betaFast, let betaSlow, let truncate):
            func correctionDimension(_ rotations: Double) -> Double {
                Double(d) * Foundation.log(Double(original) / (rotations * 2 * Double.pi)) / (2 * Foundation.log(theta))
            }
            var low = correctionDimension(betaFast)
            var high = correctionDimension(betaSlow)
            if truncate {
                low = low.rounded(.down)
                high = high.rounded(.up)
            }
            low = max(low, 0)
            high = min(high, Double(d - 1))
            if low == high { high += 0.001 }
            let f = Float(factor)
            let inverse = (0..<half).map { i -> Float in
                let position = Foundation.pow(base, Float(2 * i) / Float(d))
                let extrapolation = 1 / position
                let interpolation = 1 / (f * position)
                let ramp = min(max((Float(i) - Float(low)) / (Float(high) - Float(low)), 0), 1)
                let extrapolationFactor = 1 - ramp
                return interpolation * (1 - extrapolationFactor) + extrapolation * extrapolationFactor
            }
            return (inverse, Float(attention))
        }
    }
}
