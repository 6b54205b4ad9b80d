import Foundation

/// MergeKit's `multislerp`: barycentric interpolation on the hypersphere, per tensor (flattened).
///
/// As `mergekit/merge_methods/multislerp.py` (0.1.5), for the task models' tensors xᵢ (minus the base, when one is
/// given) with weights wᵢ (divided by Σ wᵢ when `normalize_weights`, the default): nᵢ = ‖xᵢ‖, uᵢ = xᵢ/(nᵢ + ε)
/// (`eps`, 1e-8), m = Σ wᵢuᵢ; the tangent vectors uᵢ − ⟨uᵢ, m̂⟩m̂ are averaged with the weights and mapped back
/// with the exponential map at m̂ = m/‖m‖, and the result is scaled by Σ wᵢnᵢ (then the base is added back).
///
/// The weighted tangent sum Σ wᵢ(uᵢ − ⟨uᵢ, m̂⟩m̂) = m − ‖m‖m̂ is zero exactly (MergeKit computes rounding noise,
/// whose exponential map moves m̂ by less than a Float32 rounding), so the result is
///
///     out = b + (Σₖ wₖnₖ) · Σᵢ wᵢuᵢ / ‖Σᵢ wᵢuᵢ‖
///
/// — one Gram-matrix pass and a streamed combination. When ‖m‖ < ε: with two models the weighted sum
/// w₁x₁ + w₂x₂ (+ b), as MergeKit; with more, the merge is refused naming the tensor (MergeKit raises too).
/// A single model is returned unchanged (MergeKit's `len(tensors) == 1` case).
final class MultiSlerpKernel: TensorKernel, @unchecked Sendable {
    let tasks: Int
    let hasBase: Bool
    let weights: [Float]
    let epsilon: Double
    let name: String
    private let gram: GramPass
    private(set) var coefficients: [Double]

    init(name: String, tasks: Int, hasBase: Bool, weights: [Double], normalizeWeights: Bool, epsilon: Double) {
        self.name = name
        self.tasks = tasks
        self.hasBase = hasBase
        // torch.tensor(weight, dtype=float32), divided by its Float32 sum.
        var w = weights.map { Float($0) }
        if normalizeWeights {
            var sum: Float = 0
            for x in w { sum += x }
            w = w.map { $0 / sum }
        }
        self.weights = w
        self.epsilon = epsilon
        gram = GramPass(vectors: tasks, relativeToFirst: hasBase)
        coefficients = [Double](repeating: 0, count: tasks)
    }

    var passCount: Int { tasks == 1 ? 0 : 1 }

    func beginPass(_ pass: Int, chunkCount: Int, workers: Int) { gram.begin(chunkCount: chunkCount) }

    func reduce(_ pass: Int, chunk: Int, range: Range<Int>, io: KernelIO) throws {
        try gram.reduce(chunk: chunk, range: range, io: io)
    }

    func endPass(_ pass: Int) throws {
        gram.end()
        let eps = Double(Float(epsilon))
        let norms = (0..<tasks).map { Double(Float(max(gram[$0, $0], 0).squareRoot())) }
        let w = weights.map { Double($0) }
        let mean = (0..<tasks).map { w[$0] / (norms[$0] + eps) }
        let meanNorm = gram.norm(mean)
        if meanNorm < eps {
            guard tasks == 2 else {
                throw MergeConfigError(
                    .incompatibleModels,
                    "tensor '\(name)': multislerp's weighted mean direction is zero (antipodal models with balancing "
                    + "weights); change the weights"
                )
            }
            coefficients = w
            return
        }
        var scale = 0.0
        for i in 0..<tasks { scale += norms[i] * w[i] }
        coefficients = mean.map { $0 / meanNorm * scale }
    }

    func apply(chunk: Int, range: Range<Int>, io: KernelIO, output: UnsafeMutablePointer<Float>) throws {
        if tasks == 1 {
            try io.load(hasBase ? 1 : 0, range, into: output)
            return
        }
        let coefficients = self.coefficients, relative = hasBase
        try io.forEachBlock(range) { start, n, inputs in
            combine(
                inputs, count: n, coefficients: coefficients, relativeToFirst: relative,
                into: output + (start - range.lowerBound))
        }
    }
}
