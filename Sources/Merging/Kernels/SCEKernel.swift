import Foundation

/// MergeKit's `sce` (Select, Calculate, Erase; FuseChat 2.0), per tensor, on task vectors τₜ = θₜ − b:
///
/// 1. Select (when 0 < `select_topk` < 1): keep the k = ⌊topk · #{var ≠ 0}⌋ elements with the largest variance
///    across models (population variance, ties by lower index), zero the rest of every τₜ;
/// 2. Calculate: wₜ = mean(τₜ²) / Σₖ mean(τₖ²) — MetaGPT's per-tensor λ — or 1/T when Σ < 1e-6;
/// 3. Erase: mₜ = [sign τₜ = sign Σₖ τₖ] (unweighted election, ≥ 0 counts as +);
/// 4. out = b + Σₜ τₜ·wₜmₜ / max(Σₜ wₜmₜ, 1e-6).
final class SCEKernel: TensorKernel, @unchecked Sendable {
    enum Selection { case all, none, topK(Double) }

    let tasks: Int
    let count: Int
    let selection: Selection
    private var selector: RankSelection?
    private var nonzero: SlotTable<Int>?
    private var squares: SlotTable<Double>?
    private var chunkCount = 0
    private(set) var weights: [Float] = []
    private var passes: [Int] = []  // 0: variance histogram, 1: variance bins, 2: weights

    init(tasks: Int, count: Int, selectTopK: Double) {
        self.tasks = tasks
        self.count = count
        if selectTopK >= 1 {
            selection = .all
        } else if selectTopK <= 0 {
            selection = .none
        } else {
            selection = .topK(selectTopK)
        }
        if case .topK = selection {
            selector = RankSelection(
                models: 1, elementCount: count, targets: [.init(model: 0, rank: 0, descending: true)])
            passes = [0, 1, 2]
        } else {
            passes = [2]
        }
    }

    var passCount: Int { passes.count }
    var lineLength: Int { 1 }

    func beginPass(_ pass: Int, chunkCount: Int, workers: Int) {
        self.chunkCount = chunkCount
        switch passes[pass] {
        case 0:
            selector!.beginPass1(workers: workers)
            nonzero = SlotTable(count: chunkCount, initial: 0)
        case 1:
            selector!.beginPass2(chunkCount: chunkCount)
        default:
            squares = SlotTable(count: chunkCount * tasks, initial: 0)
        }
    }

    /// Population variance across models of each element's τ, in Float64, rounded to Float32; its key.
    private func varianceKeys(
        _ inputs: UnsafeMutableBufferPointer<UnsafeMutablePointer<Float>>, count n: Int,
        into keys: UnsafeMutablePointer<UInt32>
    ) {
        let base = inputs[0]
        let T = Double(tasks)
        for i in 0..<n {
            var mean = 0.0
            for t in 0..<tasks { mean += Double(inputs[t + 1][i] - base[i]) }
            mean /= T
            var variance = 0.0
            for t in 0..<tasks {
                let d = Double(inputs[t + 1][i] - base[i]) - mean
                variance += d * d
            }
            keys[i] = magnitudeKey(Float(variance / T))
        }
    }

    func reduce(_ pass: Int, chunk: Int, range: Range<Int>, io: KernelIO) throws {
        let keys = io.scratch.buffer("sce.keys", count: KernelIO.blockElements, of: UInt32.self)
        switch passes[pass] {
        case 0:
            let histogram = selector!.histogram(model: 0, worker: io.worker)
            var nonzeroCount = 0
            try io.forEachBlock(range) { _, n, inputs in
                varianceKeys(inputs, count: n, into: keys)
                for i in 0..<n {
                    histogram[Int(keys[i] >> 16)] &+= 1
                    nonzeroCount += keys[i] != 0 ? 1 : 0
                }
            }
            nonzero![chunk] = nonzeroCount
        case 1:
            let bins = selector!.bins(of: 0)
            var stored: [UInt32] = []
            try io.forEachBlock(range) { _, n, inputs in
                varianceKeys(inputs, count: n, into: keys)
                for i in 0..<n where bins.contains(keys[i] >> 16) { stored.append(keys[i]) }
            }
            selector!.store(stored, chunk: chunk, model: 0)
        default:
            var cursor = makeCursor(chunk: chunk)
            var sums = [Double](repeating: 0, count: tasks)
            let deltas = io.scratch.buffer("sce.deltas", count: tasks * KernelIO.blockElements, of: Float.self)
            try io.forEachBlock(range) { _, n, inputs in
                maskedDeltas(inputs, count: n, cursor: &cursor, keys: keys, into: deltas)
                for t in 0..<tasks {
                    let d = deltas + t * KernelIO.blockElements
                    var sum = 0.0
                    for i in 0..<n { sum += Double(d[i] * d[i]) }
                    sums[t] += sum
                }
            }
            let squares = self.squares!
            for t in 0..<tasks { squares[chunk * tasks + t] = sums[t] }
        }
    }

    func endPass(_ pass: Int) throws {
        switch passes[pass] {
        case 0:
            var total = 0
            for chunk in 0..<chunkCount { total += nonzero![chunk] }
            nonzero = nil
            guard case .topK(let fraction) = selection else { break }
            selector!.setRank(Int(Double(total) * fraction), of: 0)
            selector!.endPass1()
        case 1:
            selector!.endPass2()
        default:
            var means = [Float](repeating: 0, count: tasks)
            for t in 0..<tasks {
                var sum = 0.0
                for chunk in 0..<chunkCount { sum += squares![chunk * tasks + t] }
                means[t] = Float(sum / Double(max(count, 1)))
            }
            squares = nil
            var total: Float = 0
            for mean in means { total += mean }
            if abs(total) < 1e-6 {
                weights = [Float](repeating: 1 / Float(tasks), count: tasks)
            } else {
                weights = means.map { $0 / total }
            }
        }
    }

    private func makeCursor(chunk: Int) -> PrefixCursor? {
        guard let selector else { return nil }
        return PrefixCursor(selector.cuts[0], descending: true, chunk: chunk)
    }

    /// τₜ for a block, with the selection mask applied.
    private func maskedDeltas(
        _ inputs: UnsafeMutableBufferPointer<UnsafeMutablePointer<Float>>, count n: Int, cursor: inout PrefixCursor?,
        keys: UnsafeMutablePointer<UInt32>, into deltas: UnsafeMutablePointer<Float>
    ) {
        let base = inputs[0]
        for t in 0..<tasks {
            let d = deltas + t * KernelIO.blockElements, x = inputs[t + 1]
            for i in 0..<n { d[i] = x[i] - base[i] }
        }
        switch selection {
        case .all:
            return
        case .none:
            for t in 0..<tasks {
                let d = deltas + t * KernelIO.blockElements
                for i in 0..<n { d[i] *= 0 }
            }
        case .topK:
            varianceKeys(inputs, count: n, into: keys)
            for i in 0..<n where !cursor!.contains(keys[i]) {
                for t in 0..<tasks { deltas[t * KernelIO.blockElements + i] *= 0 }
            }
        }
    }

    func apply(chunk: Int, range: Range<Int>, io: KernelIO, output: UnsafeMutablePointer<Float>) throws {
        if tasks == 0 {
            try io.load(0, range, into: output)
            return
        }
        var cursor = makeCursor(chunk: chunk)
        let block = KernelIO.blockElements
        let keys = io.scratch.buffer("sce.keys", count: block, of: UInt32.self)
        let deltas = io.scratch.buffer("sce.deltas", count: tasks * block, of: Float.self)
        try io.forEachBlock(range) { start, n, inputs in
            maskedDeltas(inputs, count: n, cursor: &cursor, keys: keys, into: deltas)
            let base = inputs[0]
            let out = output + (start - range.lowerBound)
            for i in 0..<n {
                var sum = deltas[i]
                for t in 1..<tasks { sum += deltas[t * block + i] }
                let positive = sum >= 0
                var merged: Float = 0
                var divisor: Float = 0
                for t in 0..<tasks {
                    let value = deltas[t * block + i]
                    let kept = positive ? value > 0 : value < 0
                    let w: Float = kept ? weights[t] : 0
                    merged += value * w
                    divisor += w
                }
                out[i] = base[i] + merged / max(divisor, 1e-6)
            }
        }
    }
}

extension RankSelection {
    /// Sets target `index`'s rank (when it is known only after pass 1's counts, as SCE's k).
    func setRank(_ rank: Int, of index: Int) {
        let old = targets[index]
        replaceTarget(index, with: .init(model: old.model, rank: rank, descending: old.descending))
    }
}
