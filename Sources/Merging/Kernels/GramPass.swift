import Foundation

/// One reduction pass giving the Gram matrix G[i][j] = ⟨xᵢ, xⱼ⟩ (Float64) of a tensor's vectors xᵢ, streamed over
/// chunks: xᵢ is input i + 1 minus input 0 when `relativeToFirst`, else input i. Per-chunk partial sums are combined
/// in chunk order, so the result does not depend on the thread count.
final class GramPass: @unchecked Sendable {
    let vectors: Int
    let relativeToFirst: Bool
    private var partial: SlotTable<Double>?
    private var chunkCount = 0
    /// Row-major `vectors × vectors`, after ``end()``.
    private(set) var gram: [Double] = []

    init(vectors: Int, relativeToFirst: Bool) {
        self.vectors = vectors
        self.relativeToFirst = relativeToFirst
    }

    func begin(chunkCount: Int) {
        self.chunkCount = chunkCount
        partial = SlotTable(count: chunkCount * vectors * vectors, initial: 0)
    }

    func reduce(chunk: Int, range: Range<Int>, io: KernelIO) throws {
        let m = vectors
        var local = [Double](repeating: 0, count: m * m)
        let stride = KernelIO.blockElements
        let differences = io.scratch.buffer("gram.differences", count: m * stride, of: Float.self)
        try io.forEachBlock(range) { _, n, inputs in
            var rows: [UnsafeMutablePointer<Float>] = []
            for v in 0..<m {
                if relativeToFirst {
                    let x = inputs[v + 1], base = inputs[0], d = differences + v * stride
                    for i in 0..<n { d[i] = x[i] - base[i] }
                    rows.append(d)
                } else {
                    rows.append(inputs[v])
                }
            }
            for a in 0..<m {
                for b in a..<m {
                    let x = rows[a], y = rows[b]
                    var dot = 0.0
                    for i in 0..<n { dot += Double(x[i]) * Double(y[i]) }
                    local[a * m + b] += dot
                }
            }
        }
        let partial = self.partial!
        for k in 0..<(m * m) { partial[chunk * m * m + k] = local[k] }
    }

    func end() {
        let m = vectors
        gram = [Double](repeating: 0, count: m * m)
        for chunk in 0..<chunkCount {
            for a in 0..<m {
                for b in a..<m { gram[a * m + b] += partial![chunk * m * m + a * m + b] }
            }
        }
        for a in 0..<m {
            for b in 0..<a { gram[a * m + b] = gram[b * m + a] }
        }
        partial = nil
    }

    subscript(i: Int, j: Int) -> Double { gram[i * vectors + j] }

    /// ‖Σᵢ cᵢxᵢ‖ for coefficients `c`.
    func norm(_ c: [Double]) -> Double {
        var sum = 0.0
        for i in 0..<vectors {
            for j in 0..<vectors { sum += c[i] * c[j] * self[i, j] }
        }
        return max(sum, 0).squareRoot()
    }
}

/// Writes out = offset + Σₖ cₖ·xₖ for a block, where xₖ is input k + 1 minus input 0 (`relativeToFirst`) or input
/// k, accumulating in Float64 and rounding once (`offset` is input 0 when relative, else absent).
func combine(
    _ inputs: UnsafeMutableBufferPointer<UnsafeMutablePointer<Float>>, count n: Int, coefficients: [Double],
    relativeToFirst: Bool, into out: UnsafeMutablePointer<Float>
) {
    for i in 0..<n {
        var sum = 0.0
        if relativeToFirst {
            let base = inputs[0][i]
            for (k, c) in coefficients.enumerated() { sum += c * Double(inputs[k + 1][i] - base) }
            out[i] = base + Float(sum)
        } else {
            for (k, c) in coefficients.enumerated() { sum += c * Double(inputs[k][i]) }
            out[i] = Float(sum)
        }
    }
}
