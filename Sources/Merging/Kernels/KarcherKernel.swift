import Foundation
import Interruption

/// MergeKit's `karcher`: the Riemannian (Karcher) mean of the inputs' directions, scaled by their mean norm.
///
/// As `mergekit/merge_methods/karcher.py` (0.1.5), every input xᵢ (the base, when given, is one more input) with
/// αᵢ = 1/N: nᵢ = ‖xᵢ‖, uᵢ = xᵢ/nᵢ for the inputs with nᵢ > `tol`, their α renormalised to sum 1. Start from
/// u = Σ αᵢuᵢ / ‖Σ αᵢuᵢ‖ (u₀ if that norm is below `tol`); then up to `max_iter` times: dᵢ = clamp(⟨u, uᵢ⟩, −1, 1),
/// θᵢ = acos dᵢ, T = Σ_{θᵢ > tol} αᵢ·θᵢ/sin θᵢ·(uᵢ − dᵢu); stop when ‖T‖ ≤ `tol`, else u ← cos‖T‖·u + sin‖T‖·T/‖T‖,
/// renormalised. The result is s·u with s = Σ αᵢnᵢ over all inputs (zero vectors included). All inputs zero → 0.
///
/// Every iterate is a combination Σ cᵢxᵢ of the inputs, so the whole iteration runs on the coefficients and the
/// inputs' Gram matrix — one reduction pass, nothing held per element, whatever `max_iter` is — and the output is
/// one more streamed combination. The iteration is in Float64 (MergeKit's in the storage dtype), so results agree
/// to Float32 rounding, with the same number of iterations as long as no ‖T‖ lies within rounding of `tol`.
final class KarcherKernel: TensorKernel, @unchecked Sendable {
    let inputs: Int
    let maxIterations: Int
    let tolerance: Double
    private let gram: GramPass
    private(set) var coefficients: [Double]
    private(set) var iterations = 0

    init(inputs: Int, maxIterations: Int, tolerance: Double) {
        self.inputs = inputs
        self.maxIterations = maxIterations
        self.tolerance = tolerance
        gram = GramPass(vectors: inputs, relativeToFirst: false)
        coefficients = [Double](repeating: 0, count: inputs)
    }

    var passCount: Int { inputs == 1 ? 0 : 1 }

    func beginPass(_ pass: Int, chunkCount: Int, workers: Int) { gram.begin(chunkCount: chunkCount) }

    func reduce(_ pass: Int, chunk: Int, range: Range<Int>, io: KernelIO) throws {
        try gram.reduce(chunk: chunk, range: range, io: io)
    }

    func endPass(_ pass: Int) throws {
        gram.end()
        coefficients =
            try Self.solve(gram: gram, count: inputs, maxIterations: maxIterations, tolerance: tolerance).coefficients
    }

    /// The coefficients cᵢ of the result s·u = Σ cᵢxᵢ, and the iterations run.
    ///
    /// - Throws: `Interrupted` once a signal asked the process to stop (polled every 1024 iterations).
    static func solve(
        gram: GramPass, count: Int, maxIterations: Int, tolerance tol: Double
    ) throws -> (coefficients: [Double], iterations: Int) {
        let alphas = [Double](repeating: 1 / Double(count), count: count)
        let norms = (0..<count).map { max(gram[$0, $0], 0).squareRoot() }
        let valid = (0..<count).filter { norms[$0] > tol }
        guard !valid.isEmpty else { return ([Double](repeating: 0, count: count), 0) }
        let alphaSum = valid.reduce(0.0) { $0 + alphas[$1] }
        var weights = [Double](repeating: 0, count: count)
        for i in valid { weights[i] = alphas[i] / alphaSum }
        // A unit vector uᵢ in input coordinates.
        func unit(_ i: Int) -> [Double] {
            var c = [Double](repeating: 0, count: count)
            c[i] = 1 / norms[i]
            return c
        }
        func dot(_ a: [Double], _ b: [Double]) -> Double {
            var sum = 0.0
            for i in 0..<count where a[i] != 0 {
                for j in 0..<count where b[j] != 0 { sum += a[i] * b[j] * gram[i, j] }
            }
            return sum
        }
        var u = [Double](repeating: 0, count: count)
        for i in valid { u[i] += weights[i] / norms[i] }
        let initialNorm = gram.norm(u)
        if initialNorm < tol {
            u = unit(valid[0])
        } else {
            u = u.map { $0 / initialNorm }
        }
        var iterations = 0
        for _ in 0..<maxIterations {
            // `max_iter` may be any count: a signal must still end the run.
            if iterations % 1024 == 0 { try Interruption.check() }
            iterations += 1
            var tangent = [Double](repeating: 0, count: count)
            for i in valid {
                let ui = unit(i)
                let d = min(max(dot(u, ui), -1), 1)
                let theta = acos(d)
                if theta <= tol { continue }  // θ = 0 (uᵢ = u) adds nothing; θ/sin θ would be 0/0 at tol 0
                let factor = weights[i] * theta / sin(theta)
                for k in 0..<count { tangent[k] += factor * (ui[k] - d * u[k]) }
            }
            let tangentNorm = gram.norm(tangent)
            if tangentNorm <= tol { break }  // converged; at tol 0 an exact 0 would divide 0 by 0 below
            let c = cos(tangentNorm), s = sin(tangentNorm)
            for k in 0..<count { u[k] = c * u[k] + s * tangent[k] / tangentNorm }
            let length = gram.norm(u)
            if length > tol { u = u.map { $0 / length } }
        }
        var scale = 0.0
        for i in 0..<count { scale += alphas[i] * norms[i] }
        return (u.map { $0 * scale }, iterations)
    }

    func apply(chunk: Int, range: Range<Int>, io: KernelIO, output: UnsafeMutablePointer<Float>) throws {
        if inputs == 1 {
            try io.load(0, range, into: output)
            return
        }
        let coefficients = self.coefficients
        try io.forEachBlock(range) { start, n, inputs in
            combine(
                inputs, count: n, coefficients: coefficients, relativeToFirst: false,
                into: output + (start - range.lowerBound))
        }
    }
}
