import Foundation

/// MergeKit's `nuslerp`: spherical interpolation of two models, optionally relative to a base, over the whole
/// tensor, each row, or each column.
///
/// As `mergekit/merge_methods/nuslerp.py` (0.1.5): with the two models' weights w₀, w₁, t = w₁/(w₀ + w₁) (0.5 when
/// |w₀ + w₁| < 1e-6). With a base b the vectors are vᵢ = θᵢ − b and the result is b + slerp; without, vᵢ = θᵢ. Per
/// vector (the flattened tensor with `nuslerp_flatten: true`, the default; else each row — last dimension — or,
/// with `nuslerp_row_wise: true`, each column): uᵢ = vᵢ / max(‖vᵢ‖, 1e-7), cos Ω = Σ u₀u₁ clamped to [−1, 1],
/// Ω = acos, and
///
///     slerp = (sin((1 − t)Ω)·v₀ + sin(tΩ)·v₁) / sin Ω,   or (1 − t)·v₀ + t·v₁ when 1 − cos²Ω ≤ 1e-16.
///
/// Float32 element arithmetic in MergeKit's order (the division by sin Ω last); norms and dot products are
/// accumulated in Float64. Flattened and column-wise vectors are reduced over chunks (two passes: norms, then the
/// dot product of the unit vectors); rows are whole within a chunk.
final class NuSlerpKernel: TensorKernel, @unchecked Sendable {
    enum Mode: Sendable { case flatten, rows, columns }

    let t: Float
    let mode: Mode
    let hasBase: Bool
    let rowLength: Int
    /// Vectors reduced across chunks: 1 (flatten) or the number of columns.
    private let groups: Int
    private var partial: SlotTable<Double>?
    private var chunkCount = 0
    private var norms: [(Float, Float)] = []
    private var sines: [(Float, Float, Float, Bool)] = []

    /// `weights`: the two models' weights, in config order.
    init(weights: (Double, Double), mode: Mode, hasBase: Bool, shape: [Int]) {
        let sum = weights.0 + weights.1
        t = Float(abs(sum) < 1e-6 ? 0.5 : weights.1 / sum)
        // A 1-D tensor is one vector in every mode (its only dimension is both the first and the last).
        let effective: Mode = shape.count <= 1 ? .flatten : mode
        self.mode = effective
        self.hasBase = hasBase
        rowLength = max(shape.last ?? 1, 1)
        groups = effective == .columns ? rowLength : 1
    }

    var passCount: Int { mode == .rows ? 0 : 2 }
    var lineLength: Int { mode == .flatten ? 1 : rowLength }

    func beginPass(_ pass: Int, chunkCount: Int, workers: Int) {
        self.chunkCount = chunkCount
        partial = SlotTable(count: chunkCount * groups * (pass == 0 ? 2 : 1), initial: 0)
    }

    /// The two vectors' values of a block (minus the base when there is one) into `x`, `y`.
    private func operands(
        _ inputs: UnsafeMutableBufferPointer<UnsafeMutablePointer<Float>>, count n: Int, x: UnsafeMutablePointer<Float>,
        y: UnsafeMutablePointer<Float>
    ) {
        if hasBase {
            let b = inputs[0], p = inputs[1], q = inputs[2]
            for i in 0..<n {
                x[i] = p[i] - b[i]
                y[i] = q[i] - b[i]
            }
        } else {
            let p = inputs[0], q = inputs[1]
            for i in 0..<n {
                x[i] = p[i]
                y[i] = q[i]
            }
        }
    }

    func reduce(_ pass: Int, chunk: Int, range: Range<Int>, io: KernelIO) throws {
        let x = io.scratch.buffer("nuslerp.x", count: KernelIO.blockElements, of: Float.self)
        let y = io.scratch.buffer("nuslerp.y", count: KernelIO.blockElements, of: Float.self)
        var local = [Double](repeating: 0, count: groups * (pass == 0 ? 2 : 1))
        let columns = mode == .columns
        try io.forEachBlock(range) { start, n, inputs in
            operands(inputs, count: n, x: x, y: y)
            for i in 0..<n {
                let g = columns ? (start + i) % groups : 0
                if pass == 0 {
                    local[2 * g] += Double(x[i]) * Double(x[i])
                    local[2 * g + 1] += Double(y[i]) * Double(y[i])
                } else {
                    let (n0, n1) = norms[g]
                    local[g] += Double(x[i] / n0) * Double(y[i] / n1)
                }
            }
        }
        let partial = self.partial!
        for k in 0..<local.count { partial[chunk * local.count + k] = local[k] }
    }

    func endPass(_ pass: Int) throws {
        let width = groups * (pass == 0 ? 2 : 1)
        var totals = [Double](repeating: 0, count: width)
        for chunk in 0..<chunkCount {
            for k in 0..<width { totals[k] += partial![chunk * width + k] }
        }
        partial = nil
        if pass == 0 {
            norms = (0..<groups).map { g in
                (max(Float(totals[2 * g].squareRoot()), 1e-7), max(Float(totals[2 * g + 1].squareRoot()), 1e-7))
            }
        } else {
            sines = totals.map { Self.coefficients(cosine: Float($0), t: t) }
        }
    }

    /// (sin((1 − t)Ω), sin(tΩ), sin Ω, colinear) for cos Ω, in Float32. Colinear (the lerp) is 1 − cos²Ω ≤ (1e-8)²
    /// — in Float32, |cos Ω| = 1 exactly after the clamp — as MergeKit 0.1.5.
    static func coefficients(cosine: Float, t: Float) -> (Float, Float, Float, Bool) {
        let c = min(max(cosine, -1), 1)
        let colinear = 1 - c * c <= Float(1e-16)
        let theta = acos(colinear ? 0 : c)
        let sinTheta = sin(theta)
        return (sin((1 - t) * theta), sin(t * theta), sinTheta, colinear)
    }

    @inline(__always)
    private func mix(_ x: Float, _ y: Float, _ c: (Float, Float, Float, Bool)) -> Float {
        if c.3 { return (1 - t) * x + t * y }
        return (c.0 * x + c.1 * y) / c.2
    }

    func apply(chunk: Int, range: Range<Int>, io: KernelIO, output: UnsafeMutablePointer<Float>) throws {
        if mode == .rows {
            try applyRows(range: range, io: io, output: output)
            return
        }
        let x = io.scratch.buffer("nuslerp.x", count: KernelIO.blockElements, of: Float.self)
        let y = io.scratch.buffer("nuslerp.y", count: KernelIO.blockElements, of: Float.self)
        let columns = mode == .columns
        try io.forEachBlock(range) { start, n, inputs in
            operands(inputs, count: n, x: x, y: y)
            let out = output + (start - range.lowerBound)
            for i in 0..<n {
                let c = sines[columns ? (start + i) % groups : 0]
                let value = mix(x[i], y[i], c)
                out[i] = hasBase ? inputs[0][i] + value : value
            }
        }
    }

    private func applyRows(range: Range<Int>, io: KernelIO, output: UnsafeMutablePointer<Float>) throws {
        let length = rowLength
        let count = hasBase ? 3 : 2
        let rows = io.scratch.buffer("nuslerp.rows", count: count * length, of: Float.self)
        let x = io.scratch.buffer("nuslerp.rowX", count: length, of: Float.self)
        let y = io.scratch.buffer("nuslerp.rowY", count: length, of: Float.self)
        var rowStart = range.lowerBound
        while rowStart < range.upperBound {
            for input in 0..<count {
                try io.load(input, rowStart..<(rowStart + length), into: rows + input * length)
            }
            var pointers = (0..<count).map { rows + $0 * length }
            pointers.withUnsafeMutableBufferPointer { operands($0, count: length, x: x, y: y) }
            var s0 = 0.0, s1 = 0.0
            for i in 0..<length {
                s0 += Double(x[i]) * Double(x[i])
                s1 += Double(y[i]) * Double(y[i])
            }
            let n0 = max(Float(s0.squareRoot()), 1e-7), n1 = max(Float(s1.squareRoot()), 1e-7)
            var dot = 0.0
            for i in 0..<length { dot += Double(x[i] / n0) * Double(y[i] / n1) }
            let c = Self.coefficients(cosine: Float(dot), t: t)
            let out = output + (rowStart - range.lowerBound)
            for i in 0..<length {
                let value = mix(x[i], y[i], c)
                out[i] = hasBase ? rows[i] + value : value
            }
            rowStart += length
        }
    }
}
