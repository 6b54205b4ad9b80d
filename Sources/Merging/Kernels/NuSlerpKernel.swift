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
/// Float32 element arithmetic in MergeKit's order (the division by sin Ω last). ‖v₀‖², ‖v₁‖² and ⟨v₀, v₁⟩ are
/// accumulated in Float64 in one pass, and cos Ω = ⟨v₀, v₁⟩ / (max(‖v₀‖, 1e-7)·max(‖v₁‖, 1e-7)) — the same
/// quantity as MergeKit's Σ u₀u₁, without its Float32 rounding of the unit vectors. Flattened and column-wise
/// vectors are reduced over chunks; rows are whole within a chunk.
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

    var passCount: Int { mode == .rows ? 0 : 1 }
    var lineLength: Int { mode == .flatten ? 1 : rowLength }

    func beginPass(_ pass: Int, chunkCount: Int, workers: Int) {
        self.chunkCount = chunkCount
        partial = SlotTable(count: chunkCount * groups * 3, initial: 0)
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
            x.update(from: inputs[0], count: n)
            y.update(from: inputs[1], count: n)
        }
    }

    /// Σx², Σy², Σxy of `n` values (Float64).
    @inline(__always)
    private static func sums(
        _ x: UnsafeMutablePointer<Float>, _ y: UnsafeMutablePointer<Float>, count n: Int
    ) -> (Double, Double, Double) {
        var xx = 0.0, yy = 0.0, xy = 0.0
        for i in 0..<n {
            let a = Double(x[i]), b = Double(y[i])
            xx += a * a
            yy += b * b
            xy += a * b
        }
        return (xx, yy, xy)
    }

    func reduce(_ pass: Int, chunk: Int, range: Range<Int>, io: KernelIO) throws {
        let x = io.scratch.buffer("nuslerp.x", count: KernelIO.blockElements, of: Float.self)
        let y = io.scratch.buffer("nuslerp.y", count: KernelIO.blockElements, of: Float.self)
        var local = [Double](repeating: 0, count: groups * 3)
        let columns = mode == .columns
        try io.forEachBlock(range) { start, n, inputs in
            operands(inputs, count: n, x: x, y: y)
            if !columns {
                let (xx, yy, xy) = Self.sums(x, y, count: n)
                local[0] += xx
                local[1] += yy
                local[2] += xy
                return
            }
            local.withUnsafeMutableBufferPointer { sums in
                var g = start % groups
                for i in 0..<n {
                    let a = Double(x[i]), b = Double(y[i])
                    sums[3 * g] += a * a
                    sums[3 * g + 1] += b * b
                    sums[3 * g + 2] += a * b
                    g += 1
                    if g == groups { g = 0 }
                }
            }
        }
        let partial = self.partial!
        for k in 0..<local.count { partial[chunk * local.count + k] = local[k] }
    }

    func endPass(_ pass: Int) throws {
        let width = groups * 3
        var totals = [Double](repeating: 0, count: width)
        for chunk in 0..<chunkCount {
            for k in 0..<width { totals[k] += partial![chunk * width + k] }
        }
        partial = nil
        sines = (0..<groups).map { g in
            Self.coefficients(squares: totals[3 * g], totals[3 * g + 1], dot: totals[3 * g + 2], t: t)
        }
    }

    /// The coefficients from ‖v₀‖², ‖v₁‖² and ⟨v₀, v₁⟩.
    static func coefficients(squares a: Double, _ b: Double, dot: Double, t: Float) -> (Float, Float, Float, Bool) {
        let n0 = Double(max(Float(a.squareRoot()), 1e-7)), n1 = Double(max(Float(b.squareRoot()), 1e-7))
        return coefficients(cosine: Float(dot / (n0 * n1)), t: t)
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
            if columns {
                var g = start % groups
                for i in 0..<n {
                    out[i] = mix(x[i], y[i], sines[g])
                    g += 1
                    if g == groups { g = 0 }
                }
            } else {
                Self.mix(x, y, count: n, sines[0], t: t, into: out)
            }
            if hasBase {
                let b = inputs[0]
                for i in 0..<n { out[i] = b[i] + out[i] }
            }
        }
    }

    @inline(__always)
    private func mix(_ x: Float, _ y: Float, _ c: (Float, Float, Float, Bool)) -> Float {
        if c.3 { return (1 - t) * x + t * y }
        return (c.0 * x + c.1 * y) / c.2
    }

    /// `out[i] = mix(x[i], y[i])` with the branch hoisted (a vectorisable loop).
    private static func mix(
        _ x: UnsafeMutablePointer<Float>, _ y: UnsafeMutablePointer<Float>, count n: Int,
        _ c: (Float, Float, Float, Bool),
        t: Float, into out: UnsafeMutablePointer<Float>
    ) {
        if c.3 {
            let a = 1 - t
            for i in 0..<n { out[i] = a * x[i] + t * y[i] }
        } else {
            let (c0, c1, s) = (c.0, c.1, c.2)
            for i in 0..<n { out[i] = (c0 * x[i] + c1 * y[i]) / s }
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
            let (xx, yy, xy) = Self.sums(x, y, count: length)
            let c = Self.coefficients(squares: xx, yy, dot: xy, t: t)
            let out = output + (rowStart - range.lowerBound)
            Self.mix(x, y, count: length, c, t: t, into: out)
            if hasBase {
                for i in 0..<length { out[i] = rows[i] + out[i] }
            }
            rowStart += length
        }
    }
}
