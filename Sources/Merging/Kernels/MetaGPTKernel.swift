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

    func apply(chunk: Int, range: Range<Int>, io: KernelIO, output: UnsafeMutablePointer<Float>) throws {
        let accumulator = io.scratch.buffer("metagpt.sum", count: KernelIO.blockElements, of: Double.self)
        try io.forEachBlock(range) { start, n, inputs in
            let base = inputs[0]
            for i in 0..<n { accumulator[i] = 0 }
            for (t, lambda) in lambdas.enumerated() {
                let x = inputs[t + 1]
                for i in 0..<n { accumulator[i] += lambda * (Double(x[i]) - Double(base[i])) }
            }
            let out = output + (start - range.lowerBound)
            let scale = self.scale
            for i in 0..<n { out[i] = Float(Double(base[i]) + scale * accumulator[i]) }
        }
    }
}
