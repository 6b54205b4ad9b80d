import Foundation

/// MergeKit's `model_stock` (Jang et al. 2024): base w₀ and N ≥ 2 fine-tunes wᵢ.
///
/// With offsets oᵢ = wᵢ − w₀: cos θ is the mean over pairs i < j of clamp(⟨oᵢ, oⱼ⟩ / max(‖oᵢ‖‖oⱼ‖, 1e-6), −1, 1);
/// t = N·cos θ / (1 + (N − 1)·cos θ) (t = 0 where |1 + (N − 1)cos θ| < 1e-6); out = t·mean(wᵢ) + (1 − t)·w₀.
/// With `filter_wise: false` (the default) the whole tensor is one vector; with `filter_wise: true` each row (last
/// dimension) gets its own t. Float32 element arithmetic as `model_stock.py`; sums in Float64.
final class ModelStockKernel: TensorKernel, @unchecked Sendable {
    let models: Int
    let filterWise: Bool
    let rowLength: Int
    private var sums: SlotTable<Double>?
    private var chunkCount = 0
    private var t: Float = 0

    /// `shape`: the tensor's shape (rows are its last dimension).
    init(models: Int, filterWise: Bool, shape: [Int]) {
        self.models = models
        self.filterWise = filterWise
        self.rowLength = max(shape.last ?? 1, 1)
    }

    private var pairCount: Int { models * (models - 1) / 2 }
    /// Per chunk: ‖oᵢ‖² for each model, then ⟨oᵢ, oⱼ⟩ for each pair.
    private var slots: Int { models + pairCount }

    var passCount: Int { filterWise ? 0 : 1 }
    var lineLength: Int { filterWise ? rowLength : 1 }

    func beginPass(_ pass: Int, chunkCount: Int, workers: Int) {
        self.chunkCount = chunkCount
        sums = SlotTable(count: chunkCount * slots, initial: 0)
    }

    func reduce(_ pass: Int, chunk: Int, range: Range<Int>, io: KernelIO) throws {
        var local = [Double](repeating: 0, count: slots)
        let offsets = io.scratch.buffer("stock.offsets", count: models * KernelIO.blockElements, of: Float.self)
        try io.forEachBlock(range) { _, n, inputs in
            accumulate(inputs, count: n, offsets: offsets, into: &local)
        }
        let sums = self.sums!
        for k in 0..<slots { sums[chunk * slots + k] = local[k] }
    }

    private func accumulate(
        _ inputs: UnsafeMutableBufferPointer<UnsafeMutablePointer<Float>>, count n: Int,
        offsets: UnsafeMutablePointer<Float>,
        into local: inout [Double]
    ) {
        let stride = KernelIO.blockElements
        let base = inputs[0]
        for m in 0..<models {
            let x = inputs[m + 1], o = offsets + m * stride
            var square = 0.0
            for i in 0..<n {
                o[i] = x[i] - base[i]
                square += Double(o[i]) * Double(o[i])
            }
            local[m] += square
        }
        var pair = models
        for a in 0..<models {
            for b in (a + 1)..<max(models, a + 1) {
                let oa = offsets + a * stride, ob = offsets + b * stride
                var dot = 0.0
                for i in 0..<n { dot += Double(oa[i]) * Double(ob[i]) }
                local[pair] += dot
                pair += 1
            }
        }
    }

    func endPass(_ pass: Int) throws {
        var totals = [Double](repeating: 0, count: slots)
        for chunk in 0..<chunkCount {
            for k in 0..<slots { totals[k] += sums![chunk * slots + k] }
        }
        sums = nil
        t = Self.interpolation(totals, models: models)
    }

    /// t from ‖oᵢ‖² and ⟨oᵢ, oⱼ⟩, in Float32 as `model_stock.py`.
    static func interpolation(_ totals: [Double], models: Int) -> Float {
        let norms = (0..<models).map { Float(totals[$0].squareRoot()) }
        var cosines: [Float] = []
        var pair = models
        for a in 0..<models {
            for b in (a + 1)..<max(models, a + 1) {
                let product = max(norms[a] * norms[b], 1e-6)
                cosines.append(min(max(Float(totals[pair]) / product, -1), 1))
                pair += 1
            }
        }
        var sum: Float = 0
        for c in cosines { sum += c }
        let cosine = sum / Float(cosines.count)
        let count = Float(models)
        let denominator = 1 + (count - 1) * cosine
        if abs(denominator) < 1e-6 { return 0 }
        return (count * cosine) / denominator
    }

    func apply(chunk: Int, range: Range<Int>, io: KernelIO, output: UnsafeMutablePointer<Float>) throws {
        if filterWise {
            try applyRows(range: range, io: io, output: output)
            return
        }
        try io.forEachBlock(range) { start, n, inputs in
            mix(inputs: Array(inputs), count: n, t: t, into: output + (start - range.lowerBound))
        }
    }

    /// out = t·((Σ wᵢ) / N) + (1 − t)·w₀, summing wᵢ in order as Python's `sum`.
    private func mix(
        inputs: [UnsafeMutablePointer<Float>], count n: Int, t: Float, into out: UnsafeMutablePointer<Float>
    ) {
        let base = inputs[0]
        let count = Float(models)
        let oneMinusT = 1 - t
        for i in 0..<n {
            var sum = inputs[1][i]
            for m in 2...max(models, 2) where m <= models { sum += inputs[m][i] }
            let average = sum / count
            out[i] = t * average + oneMinusT * base[i]
        }
    }

    private func applyRows(range: Range<Int>, io: KernelIO, output: UnsafeMutablePointer<Float>) throws {
        let length = rowLength
        let rows = io.scratch.buffer("stock.rows", count: (models + 1) * length, of: Float.self)
        let offsets = io.scratch.buffer("stock.rowOffsets", count: models * length, of: Float.self)
        var rowStart = range.lowerBound
        while rowStart < range.upperBound {
            let n = min(length, range.upperBound - rowStart)
            for input in 0...models {
                try io.load(input, rowStart..<(rowStart + n), into: rows + input * length)
            }
            var local = [Double](repeating: 0, count: slots)
            let base = rows
            for m in 0..<models {
                let x = rows + (m + 1) * length, o = offsets + m * length
                var square = 0.0
                for i in 0..<n {
                    o[i] = x[i] - base[i]
                    square += Double(o[i]) * Double(o[i])
                }
                local[m] = square
            }
            var pair = models
            for a in 0..<models {
                for b in (a + 1)..<max(models, a + 1) {
                    var dot = 0.0
                    for i in 0..<n { dot += Double(offsets[a * length + i]) * Double(offsets[b * length + i]) }
                    local[pair] = dot
                    pair += 1
                }
            }
            let rowT = Self.interpolation(local, models: models)
            let pointers = (0...models).map { rows + $0 * length }
            mix(inputs: pointers, count: n, t: rowT, into: output + (rowStart - range.lowerBound))
            rowStart += n
        }
    }
}
