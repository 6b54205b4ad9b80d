import Foundation

/// MergeKit's `slerp` between the base v₀ and the one other model v₁, over the whole tensor as one vector.
///
/// As `mergekit/merge_methods/slerp.py` (0.1.5), in Float32: n₀ = ‖v₀‖, n₁ = ‖v₁‖ (a norm ≤ 1e-8 is taken as 1);
/// d = clamp(Σ (v₀/n₀)(v₁/n₁), −1, 1); if |d| > 0.9995 the result is the lerp (1 − t)·v₀ + t·v₁, else with
/// Ω = acos d: sin((1 − t)Ω)/sin Ω · v₀ + sin(tΩ)/sin Ω · v₁ — the coefficients apply to the unnormalised
/// tensors. Sums are accumulated in Float64 here (PyTorch sums Float32 in blocks), so d may differ in its last
/// bits.
final class SlerpKernel: TensorKernel, @unchecked Sendable {
    let t: Float
    private var squares: SlotTable<Double>?
    private var dots: SlotTable<Double>?
    private var norms: (Float, Float) = (1, 1)
    private(set) var coefficients: (Float, Float) = (1, 0)
    private(set) var isLinear = true
    private var chunkCount = 0

    init(t: Double) {
        self.t = Float(t)
    }

    var passCount: Int { 2 }
    var lineLength: Int { 1 }

    func beginPass(_ pass: Int, chunkCount: Int, workers: Int) {
        self.chunkCount = chunkCount
        if pass == 0 {
            squares = SlotTable(count: chunkCount * 2, initial: 0)
        } else {
            dots = SlotTable(count: chunkCount, initial: 0)
        }
    }

    func reduce(_ pass: Int, chunk: Int, range: Range<Int>, io: KernelIO) throws {
        if pass == 0 {
            var a2 = 0.0, b2 = 0.0
            try io.forEachBlock(range) { _, n, inputs in
                let a = inputs[0], b = inputs[1]
                for i in 0..<n {
                    a2 += Double(a[i]) * Double(a[i])
                    b2 += Double(b[i]) * Double(b[i])
                }
            }
            let squares = self.squares!
            squares[2 * chunk] = a2
            squares[2 * chunk + 1] = b2
        } else {
            let (na, nb) = norms
            var dot = 0.0
            try io.forEachBlock(range) { _, n, inputs in
                let a = inputs[0], b = inputs[1]
                for i in 0..<n { dot += Double(a[i] / na) * Double(b[i] / nb) }
            }
            dots![chunk] = dot
        }
    }

    func endPass(_ pass: Int) throws {
        if pass == 0 {
            var a2 = 0.0, b2 = 0.0
            for chunk in 0..<chunkCount {
                a2 += squares![2 * chunk]
                b2 += squares![2 * chunk + 1]
            }
            let na = Float(a2.squareRoot()), nb = Float(b2.squareRoot())
            norms = (na > 1e-8 ? na : 1, nb > 1e-8 ? nb : 1)
            squares = nil
        } else {
            var sum = 0.0
            for chunk in 0..<chunkCount { sum += dots![chunk] }
            dots = nil
            let dot = min(max(Float(sum), -1), 1)
            isLinear = abs(dot) > 0.9995
            if isLinear {
                coefficients = (1 - t, t)
            } else {
                let theta = acos(dot)
                let sinTheta = sin(theta)
                coefficients = (sin((1 - t) * theta) / sinTheta, sin(t * theta) / sinTheta)
            }
        }
    }

    func apply(chunk: Int, range: Range<Int>, io: KernelIO, output: UnsafeMutablePointer<Float>) throws {
        let (ca, cb) = coefficients
        try io.forEachBlock(range) { start, n, inputs in
            let a = inputs[0], b = inputs[1]
            let out = output + (start - range.lowerBound)
            for i in 0..<n { out[i] = ca * a[i] + cb * b[i] }
        }
    }
}
