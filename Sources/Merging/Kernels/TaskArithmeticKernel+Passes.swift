import CKernels
import Foundation
import SafeTensors

/// The reduction passes: rank selection (two passes), L1 sums before/after masking for `rescale`, DELLA's
/// per-row ranking, and the squared norms of the sparsified deltas.
extension TaskArithmeticKernel {
    func select1(chunk: Int, range: Range<Int>, io: KernelIO) throws {
        let selection = selection!
        var absoluteSums = [Double](repeating: 0, count: tasks)
        try io.forEachBlock(range) { _, n, inputs in
            let base = inputs[0]
            for t in 0..<tasks {
                switch plans[t] {
                case .magnitude, .outliers: break
                default: continue
                }
                let histogram = selection.histogram(model: t, worker: io.worker)
                let x = inputs[t + 1]
                guard settings.rescale else {
                    // The L1 sum is only read by `rescale`; without it the loop is the histogram alone (the sum's
                    // chain of Float64 additions was its critical path).
                    mm_magnitude_histogram(x, base, n, histogram)
                    continue
                }
                // Σ |δ| of the block in index order, from 0.
                absoluteSums[t] += mm_magnitude_histogram_l1(x, base, n, histogram)
            }
        }
        if settings.rescale, let before {
            for t in 0..<tasks { before[chunk * tasks + t] = absoluteSums[t] }
        }
    }

    func select2(chunk: Int, range: Range<Int>, io: KernelIO) throws {
        let selection = selection!
        var keys = [[UInt32]](repeating: [], count: tasks)
        let bins = (0..<tasks).map { selection.bins(of: $0) }
        let found = io.scratch.buffer("gta.binKeys", count: KernelIO.blockElements, of: UInt32.self)
        try io.forEachBlock(range) { _, n, inputs in
            let base = inputs[0]
            for t in 0..<tasks where !bins[t].isEmpty {
                let x = inputs[t + 1]
                let first = bins[t][0], second = bins[t].count > 1 ? bins[t][1] : bins[t][0]
                // In index order; sixteen at a time, lane by lane only in groups holding a key of a wanted bin.
                let count = mm_collect_bin_keys(x, base, n, first, second, found)
                keys[t].append(contentsOf: UnsafeBufferPointer(start: found, count: count))
            }
        }
        for t in 0..<tasks { selection.store(keys[t], chunk: chunk, model: t) }
    }

    /// L1 sums for the rescale (kept elements, and for DARE also all elements) or squared norms of the
    /// sparsified, rescaled deltas.
    func sums(_ pass: Pass, chunk: Int, range: Range<Int>, io: KernelIO) throws {
        var cursors = makeCursors(chunk: chunk)
        let deltas = io.scratch.buffer("gta.deltas", count: KernelIO.blockElements, of: Float.self)
        var totals = [Double](repeating: 0, count: tasks)
        var kept = [Double](repeating: 0, count: tasks)
        try io.forEachBlock(range) { start, n, inputs in
            for t in 0..<tasks {
                let x = inputs[t + 1], base = inputs[0]
                if pass == .randomL1 {
                    var sum = 0.0
                    for i in 0..<n { sum += Double(abs(x[i] - base[i])) }
                    totals[t] += sum
                }
                mm_subtract(x, base, n, deltas)
                mask(t, deltas, count: n, start: start, cursors: &cursors[t])
                if pass == .norms {
                    if let factor = factors[t] { mm_scale(deltas, n, factor) }
                    var sum = 0.0
                    for i in 0..<n { sum += Double(deltas[i]) * Double(deltas[i]) }
                    kept[t] += sum
                } else {
                    var sum = 0.0
                    for i in 0..<n { sum += Double(abs(deltas[i])) }
                    kept[t] += sum
                }
            }
        }
        let before = self.before, after = self.after!
        for t in 0..<tasks {
            if pass == .randomL1 { before![chunk * tasks + t] = totals[t] }
            after[chunk * tasks + t] = kept[t]
        }
    }

    /// DELLA's masks: per row, ranks of |δ| (ascending, ties by column), keep probabilities, draws; plus L1 sums.
    func della(chunk: Int, range: Range<Int>, io: KernelIO) throws {
        let rowLength = self.rowLength
        let rows = io.scratch.buffer("della.rows", count: (tasks + 1) * rowLength, of: Float.self)
        let order = io.scratch.buffer("della.order", count: rowLength, of: UInt64.self)
        let masks = dellaMasks!
        var totals = [Double](repeating: 0, count: tasks)
        var kept = [Double](repeating: 0, count: tasks)
        var rowStart = range.lowerBound
        while rowStart < range.upperBound {
            let length = min(rowLength, range.upperBound - rowStart)
            for input in 0...tasks {
                try io.load(input, rowStart..<(rowStart + length), into: rows + input * rowLength)
            }
            for t in 0..<tasks {
                guard case .della(let density, let epsilon) = plans[t] else { continue }
                let x = rows + (t + 1) * rowLength, base = rows
                for j in 0..<length {
                    order[j] = UInt64(magnitudeKey(x[j] - base[j])) << 32 | UInt64(j)
                }
                var sorted = UnsafeMutableBufferPointer(start: order, count: length)
                sorted.sort()
                let low = Float(density - epsilon), epsilon32 = Float(epsilon)
                var absoluteSum = 0.0, keptSum = 0.0
                for position in 0..<length {
                    let j = Int(order[position] & 0xFFFF_FFFF)
                    let rankNorm: Float = length > 1 ? min(max(Float(position) / Float(length - 1), 0), 1) : 0.5
                    let probability = low + rankNorm * 2 * epsilon32
                    let index = rowStart + j
                    let threshold = CounterRandom.threshold(probability: Double(probability))
                    let delta = x[j] - base[j]
                    absoluteSum += Double(abs(delta))
                    if randoms[t].keeps(index, threshold: threshold) {
                        let word = t * maskWords + index / 64
                        masks[word] |= 1 << UInt64(index % 64)
                        keptSum += Double(abs(delta))
                    }
                }
                totals[t] += absoluteSum
                kept[t] += keptSum
            }
            rowStart += length
        }
        let before = self.before!, after = self.after!
        for t in 0..<tasks {
            before[chunk * tasks + t] = totals[t]
            after[chunk * tasks + t] = kept[t]
        }
    }
}
