import Foundation

/// The merge itself: weighted deltas, sign consensus, normalisation, λ and the base.
extension TaskArithmeticKernel {
    func apply(chunk: Int, range: Range<Int>, io: KernelIO, output: UnsafeMutablePointer<Float>) throws {
        let T = tasks
        if T == 0 {
            try io.load(0, range, into: output)
            return
        }
        var cursors = makeCursors(chunk: chunk)
        let block = KernelIO.blockElements
        // T weighted rows, plus two rows of scratch for the election's sums.
        let weighted = io.scratch.buffer("gta.weighted", count: (T + 2) * block, of: Float.self)
        try io.forEachBlock(range) { start, n, inputs in
            let base = inputs[0]
            for t in 0..<T {
                let d = weighted + t * block
                let x = inputs[t + 1]
                for i in 0..<n { d[i] = x[i] - base[i] }
                mask(t, d, count: n, start: start, cursors: &cursors[t])
                if let factor = factors[t] { for i in 0..<n { d[i] *= factor } }
                let w = weights[t]
                for i in 0..<n { d[i] *= w }
            }
            let out = output + (start - range.lowerBound)
            if settings.consensus {
                combineWithConsensus(weighted, base: base, count: n, into: out)
            } else {
                combine(weighted, base: base, count: n, into: out)
            }
        }
    }

    func combine(
        _ W: UnsafeMutablePointer<Float>, base: UnsafeMutablePointer<Float>, count n: Int,
        into out: UnsafeMutablePointer<Float>
    ) {
        let block = KernelIO.blockElements
        for i in 0..<n { out[i] = W[i] }
        for t in 1..<max(tasks, 1) {
            let row = W + t * block
            for i in 0..<n { out[i] += row[i] }
        }
        if settings.normalize {
            let divisor = divisorWithoutConsensus
            for i in 0..<n { out[i] /= divisor }
        }
        if lambda != 1 {
            let lambda = self.lambda
            for i in 0..<n { out[i] *= lambda }
        }
        for i in 0..<n { out[i] = base[i] + out[i] }
    }

    /// TIES' election, element-wise and branch-free so it vectorises: the majority sign is that of Σₜ Wₜ
    /// (summed in model order), each Wₜ of that sign is added (in model order) with its weight to the divisor.
    func combineWithConsensus(
        _ W: UnsafeMutablePointer<Float>, base: UnsafeMutablePointer<Float>, count n: Int,
        into out: UnsafeMutablePointer<Float>
    ) {
        let block = KernelIO.blockElements
        let T = tasks
        let sums = out
        for i in 0..<n { sums[i] = W[i] }
        for t in 1..<max(T, 1) {
            let row = W + t * block
            for i in 0..<n { sums[i] += row[i] }
        }
        // Reuse the first weighted row's scratch neighbour for the divisor: the block after the T rows.
        let mixed = W + T * block
        let divisor = W + (T + 1) * block
        for i in 0..<n {
            mixed[i] = 0
            divisor[i] = 0
        }
        for t in 0..<T {
            let row = W + t * block
            let weight = weights[t]
            for i in 0..<n {
                let value = row[i]
                let positive = sums[i] >= 0
                let keep = (positive && value > 0) || (!positive && value < 0)
                mixed[i] += keep ? value : 0
                divisor[i] += keep ? weight : 0
            }
        }
        if settings.normalize {
            for i in 0..<n { mixed[i] /= divisor[i] == 0 ? 1 : divisor[i] }
        }
        if lambda != 1 {
            let lambda = self.lambda
            for i in 0..<n { mixed[i] *= lambda }
        }
        for i in 0..<n { out[i] = base[i] + mixed[i] }
    }
}
