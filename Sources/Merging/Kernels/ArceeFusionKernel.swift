import Foundation

/// MergeKit's `arcee_fusion`: keep the other model's change only where it is important.
///
/// As `mergekit/merge_methods/arcee_fusion.py` (0.1.5), for the base b and the other model θ, per element:
///
///     importance = |θ − b| · KL(p ‖ q),  p = softmax(θ) + 1e-8, q = softmax(b) + 1e-8 (per row, last dimension)
///
/// with KL(p ‖ q) = Σ p·log(p/q) over the row; threshold = median + 1.5·(Q₃ − Q₁) of the importances, where the
/// quantile q is the element of rank ⌊q·(n − 1)⌋ (0-based) of the sorted importances; out = b + (θ − b)·[importance
/// ≥ threshold]. The KL is computed in Float64 and rounded once; the rest is Float32 as MergeKit. MergeKit evaluates
/// the KL in Float32, where it is a small difference of large terms: on the bundled family its KL carries an absolute
/// error of up to ~3.7·2⁻²⁴ (about 20% of a typical row's KL), so an element whose importance lies within that
/// of the threshold may fall on the other side in MergeKit (the parity test excludes and counts them).
///
/// **Deviation above 10⁶ elements:** MergeKit takes the quantiles of a random sample of 10⁶ importances
/// drawn with replacement (`torch.randint`); MetaMerge takes them exactly over all elements (two radix passes,
/// ``RankSelection``), so the
/// result is deterministic and does not depend on a random stream it cannot reproduce. At or below 10⁶ elements
/// both are exact and agree.
///
/// Passes: per-row KL (one Float per row), then the importance histogram and the keys in the quantiles' bins.
final class ArceeFusionKernel: TensorKernel, @unchecked Sendable {
    let count: Int
    let rowLength: Int
    private var rowKL = SlotTable<Float>(count: 1, initial: 0)
    private let selector: RankSelection
    private(set) var threshold: Float = 0

    /// Quantile ranks (1-based, ascending) of the median, Q₁ and Q₃, as MergeKit indexes the sorted tensor.
    static func ranks(count n: Int) -> [Int] {
        [Float(0.5), 0.25, 0.75].map { Int(($0 * Float(n - 1)).rounded(.towardZero)) + 1 }
    }

    init(shape: [Int]) {
        count = shape.reduce(1, *)
        rowLength = max(shape.last ?? 1, 1)
        selector = RankSelection(
            models: 1, elementCount: count,
            targets: Self.ranks(count: count).map { .init(model: 0, rank: $0, descending: false) })
    }

    var passCount: Int { 3 }
    var lineLength: Int { rowLength }

    func beginPass(_ pass: Int, chunkCount: Int, workers: Int) {
        switch pass {
        case 0: rowKL = SlotTable(count: max(count / rowLength, 1), initial: 0)
        case 1: selector.beginPass1(workers: workers)
        default: selector.beginPass2(chunkCount: chunkCount)
        }
    }

    /// softmax(x) + 1e-8 over one row, in Float64.
    private static func softmax(_ x: UnsafeMutablePointer<Float>, count n: Int, into p: UnsafeMutablePointer<Double>) {
        var largest = -Float.infinity
        for i in 0..<n { largest = max(largest, x[i]) }
        var sum = 0.0
        for i in 0..<n {
            p[i] = exp(Double(x[i] - largest))
            sum += p[i]
        }
        for i in 0..<n { p[i] = p[i] / sum + 1e-8 }
    }

    /// Each row's KL(p ‖ q), in Float64 and rounded once: the KL of two nearly equal rows is a small difference of
    /// large terms, which MergeKit's Float32 evaluation gets only to within a few 2⁻²⁴ (absolute).
    private func computeKL(range: Range<Int>, io: KernelIO) throws {
        let n = rowLength
        let rows = io.scratch.buffer("fusion.rows", count: 2 * n, of: Float.self)
        let p = io.scratch.buffer("fusion.p", count: n, of: Double.self)
        let q = io.scratch.buffer("fusion.q", count: n, of: Double.self)
        var start = range.lowerBound
        while start < range.upperBound {
            try io.load(0, start..<(start + n), into: rows)
            try io.load(1, start..<(start + n), into: rows + n)
            Self.softmax(rows + n, count: n, into: p)
            Self.softmax(rows, count: n, into: q)
            var kl = 0.0
            for i in 0..<n { kl += p[i] * log(p[i] / q[i]) }
            rowKL[start / n] = Float(kl)
            start += n
        }
    }

    /// An order-preserving key of a Float (negative values below positive ones).
    @inline(__always)
    static func key(_ value: Float) -> UInt32 {
        let bits = value.bitPattern
        return bits & 0x8000_0000 == 0 ? bits | 0x8000_0000 : ~bits
    }

    static func value(ofKey key: UInt32) -> Float {
        Float(bitPattern: key & 0x8000_0000 != 0 ? key & 0x7FFF_FFFF : ~key)
    }

    /// The importances of a block starting at element `start`.
    private func importances(
        _ inputs: UnsafeMutableBufferPointer<UnsafeMutablePointer<Float>>, start: Int, count n: Int,
        into out: UnsafeMutablePointer<Float>
    ) {
        let base = inputs[0], model = inputs[1], kl = rowKL
        for i in 0..<n { out[i] = abs(model[i] - base[i]) * kl[(start + i) / rowLength] }
    }

    func reduce(_ pass: Int, chunk: Int, range: Range<Int>, io: KernelIO) throws {
        if pass == 0 {
            try computeKL(range: range, io: io)
            return
        }
        let values = io.scratch.buffer("fusion.importance", count: KernelIO.blockElements, of: Float.self)
        if pass == 1 {
            let histogram = selector.histogram(model: 0, worker: io.worker)
            try io.forEachBlock(range) { start, n, inputs in
                importances(inputs, start: start, count: n, into: values)
                for i in 0..<n { histogram[Int(Self.key(values[i]) >> 16)] &+= 1 }
            }
        } else {
            let bins = selector.bins(of: 0)
            var stored: [UInt32] = []
            try io.forEachBlock(range) { start, n, inputs in
                importances(inputs, start: start, count: n, into: values)
                for i in 0..<n {
                    let key = Self.key(values[i])
                    if bins.contains(key >> 16) { stored.append(key) }
                }
            }
            selector.store(stored, chunk: chunk, model: 0)
        }
    }

    func endPass(_ pass: Int) throws {
        switch pass {
        case 1: selector.endPass1()
        case 2:
            selector.endPass2()
            var quantiles: [Float] = []
            for cut in selector.cuts {
                guard case .threshold(let key, _, _) = cut else {
                    // One element: every quantile is that element, and it is kept (importance ≥ itself).
                    quantiles.append(-.infinity)
                    continue
                }
                quantiles.append(Self.value(ofKey: key))
            }
            let (median, q1, q3) = (quantiles[0], quantiles[1], quantiles[2])
            threshold = median.isFinite ? median + 1.5 * (q3 - q1) : -.infinity
        default: break
        }
    }

    func apply(chunk: Int, range: Range<Int>, io: KernelIO, output: UnsafeMutablePointer<Float>) throws {
        let values = io.scratch.buffer("fusion.importance", count: KernelIO.blockElements, of: Float.self)
        let threshold = self.threshold
        try io.forEachBlock(range) { start, n, inputs in
            importances(inputs, start: start, count: n, into: values)
            let base = inputs[0], model = inputs[1]
            let out = output + (start - range.lowerBound)
            for i in 0..<n {
                let delta = model[i] - base[i]
                out[i] = base[i] + (values[i] >= threshold ? delta : delta * 0)
            }
        }
    }
}
