/// MergeKit's `linear`: out = Σᵢ wᵢ·θᵢ, divided by Σᵢ wᵢ when `normalize` (the default).
///
/// In Float32 as `linear_merge`: the sum starts at 0 and adds wᵢ·θᵢ input by input, in config order (the base,
/// when given and not listed, is the last input, as MergeKit appends it); the division comes last. No base is
/// special, and a zero weight sum gives ±∞/NaN, as in MergeKit. MergeKit accumulates with `torch.addcmul_`, whose
/// vectorised CPU kernel is a fused multiply-add (one rounding of s + w·θ); so does this kernel: the product of
/// two Floats is exact in Float64, and s + w·θ is rounded once more to Float32.
final class LinearKernel: TensorKernel, @unchecked Sendable {
    let weights: [Float]
    let normalize: Bool
    let denominator: Float

    /// `linear`'s parameters for one tensor.
    struct Parameters: Equatable {
        /// Every input's weight, in input order (0 for an input given none).
        var weights: [Double]
        var normalize: Bool

        init(_ parameters: MethodParameters, inputs: Int) {
            weights = parameters.numbers("weight", of: Array(0..<inputs))
            normalize = parameters.flag("normalize")
        }
    }

    init(_ parameters: Parameters) {
        weights = parameters.weights.map { Float($0) }
        normalize = parameters.normalize
        var sum: Float = 0
        for w in self.weights { sum += w }
        denominator = sum
    }

    func apply(chunk: Int, range: Range<Int>, io: KernelIO, output: UnsafeMutablePointer<Float>) throws {
        try io.forEachBlock(range) { start, n, inputs in
            let out = output + (start - range.lowerBound)
            for i in 0..<n { out[i] = 0 }
            for (k, w) in weights.enumerated() {
                let x = inputs[k]
                let weight = Double(w)
                for i in 0..<n { out[i] = Float(Double(out[i]) + Double(x[i]) * weight) }
            }
            if normalize {
                let d = denominator
                for i in 0..<n { out[i] /= d }
            }
        }
    }
}
