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
    /// the sum from 0 over tasks in order, then θ₀ + λ·sum, rounded once), the last n mod 4 one by one.
    func apply(chunk: Int, range: Range<Int>, io: KernelIO, output: UnsafeMutablePointer<Float>) throws {
        typealias Lanes = SIMD4<Double>
        let T = lambdas.count
        let scale = self.scale
        try io.forEachBlock(range) { start, n, inputs in
            let out = output + (start - range.lowerBound)
            let target = UnsafeMutableRawPointer(out)
            let base = UnsafeRawPointer(inputs[0])
            let vectorCount = n / 4 * 4
            var i = 0
            if T == 2 {
                let l0 = lambdas[0], l1 = lambdas[1]
                let x0 = UnsafeRawPointer(inputs[1]), x1 = UnsafeRawPointer(inputs[2])
                while i < vectorCount {
                    let b = Lanes(base.loadUnaligned(fromByteOffset: 4 &* i, as: SIMD4<Float>.self))
                    let d0 = Lanes(x0.loadUnaligned(fromByteOffset: 4 &* i, as: SIMD4<Float>.self)) - b
                    let d1 = Lanes(x1.loadUnaligned(fromByteOffset: 4 &* i, as: SIMD4<Float>.self)) - b
                    var sum = Lanes()
                    sum += l0 * d0
                    sum += l1 * d1
                    target.storeBytes(of: SIMD4<Float>(b + scale * sum), toByteOffset: 4 &* i, as: SIMD4<Float>.self)
                    i &+= 4
                }
            } else {
                while i < vectorCount {
                    let b = Lanes(base.loadUnaligned(fromByteOffset: 4 &* i, as: SIMD4<Float>.self))
                    var sum = Lanes()
                    for t in 0..<T {
                        let x = UnsafeRawPointer(inputs[t + 1])
                        sum += lambdas[t] * (Lanes(x.loadUnaligned(fromByteOffset: 4 &* i, as: SIMD4<Float>.self)) - b)
                    }
                    target.storeBytes(of: SIMD4<Float>(b + scale * sum), toByteOffset: 4 &* i, as: SIMD4<Float>.self)
                    i &+= 4
                }
            }
            while i < n {
                var sum = 0.0
                for t in 0..<T { sum += lambdas[t] * (Double(inputs[t + 1][i]) - Double(inputs[0][i])) }
                out[i] = Float(Double(inputs[0][i]) + scale * sum)
                i += 1
            }
        }
    }
}
