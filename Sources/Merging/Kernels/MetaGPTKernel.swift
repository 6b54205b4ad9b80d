import CKernels

/// MetaGPT (Zhou et al. 2024, Eq. 2 with Theorem 10's coefficients): out = θ₀ + λ·Σₜ λₜ·(θₜ − θ₀), with
/// λₜ = ‖τₜ‖² / Σₖ ‖τₖ‖² given (global, or per tensor) and λ the `lambda` scale (default 1).
///
/// Each element is computed in Float64 from the Float32 inputs and rounded once to Float32, so the result is
/// the float64 formula correctly rounded.
final class MetaGPTKernel: TensorKernel, @unchecked Sendable {
    let lambdas: [Double]
    let scale: Double

    init(lambdas: [Double], scale: Double) {
        self.lambdas = lambdas
        self.scale = scale
    }

    /// Four coordinates at a time in Float64 lanes (the Float64 operations of the scalar formula, in its order:
    /// the sum from 0 over tasks in order, then θ₀ + λ·sum, rounded once) in C (`mm_metagpt`, at the machine's
    /// vector width), the last n mod 4 one by one.
    func apply(chunk: Int, range: Range<Int>, io: KernelIO, output: UnsafeMutablePointer<Float>) throws {
        let T = lambdas.count
        let scale = self.scale
        try io.forEachBlock(range) { start, n, inputs in
            let out = output + (start - range.lowerBound)
            let vectorCount = n / 4 * 4
            lambdas.withUnsafeBufferPointer { l in
                let models = UnsafeRawPointer(inputs.baseAddress!).assumingMemoryBound(to: UnsafePointer<Float>?.self)
                mm_metagpt(models, l.baseAddress!, T, scale, vectorCount, out)
            }
            var i = vectorCount
            while i < n {
                var sum = 0.0
                for t in 0..<T { sum += lambdas[t] * (Double(inputs[t + 1][i]) - Double(inputs[0][i])) }
                out[i] = Float(Double(inputs[0][i]) + scale * sum)
                i += 1
            }
        }
    }
}
