import CKernels
import Foundation

/// The merge itself: weighted deltas, sign consensus, normalisation, λ and the base.
extension TaskArithmeticKernel {
    func apply(chunk: Int, range: Range<Int>, io: KernelIO, output: UnsafeMutablePointer<Float>) throws {
        let T = tasks
        if T == 0 {
            try io.load(0, range, into: output)
            return
        }
        if isPlainSum {
            try io.forEachBlock(range) { start, n, inputs in
                plainSum(inputs, count: n, into: output + (start - range.lowerBound))
            }
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

    /// Whether the merge is Σₜ wₜ·δₜ with nothing masked or rescaled and no election (`task_arithmetic`, and
    /// MetaGPT's kernels-through-weights), which ``plainSum(_:count:into:)`` computes in one fused sweep.
    var isPlainSum: Bool {
        !settings.consensus && factors.allSatisfy { $0 == nil }
            && plans.allSatisfy { if case .keepAll = $0 { true } else { false } }
    }

    /// `out = b + λ·((Σₜ (xₜ − b)·wₜ) / divisor)` element by element, with the Float32 operations of the general
    /// path in the same order (δ = x − b, δ·w, the sum from task 0, then ÷ divisor, ·λ, + b), so the result is
    /// bit-identical; sixteen lanes at a time in C (`mm_plain_sum`, at the machine's vector width), the last
    /// n mod 16 one by one.
    func plainSum(
        _ inputs: UnsafeMutableBufferPointer<UnsafeMutablePointer<Float>>, count n: Int,
        into out: UnsafeMutablePointer<Float>
    ) {
        let vectorEnd = n / 16 * 16
        let normalize = settings.normalize, divisor = divisorWithoutConsensus, lambda = self.lambda
        weights.withUnsafeBufferPointer { w in
            let models = UnsafeRawPointer(inputs.baseAddress!).assumingMemoryBound(to: UnsafePointer<Float>?.self)
            mm_plain_sum(models, w.baseAddress!, tasks, normalize ? 1 : 0, divisor, lambda, vectorEnd, out)
        }
        let w0 = weights[0]
        for j in vectorEnd..<n { out[j] = (inputs[1][j] - inputs[0][j]) * w0 }
        for t in 1..<tasks {
            let w = weights[t]
            for j in vectorEnd..<n { out[j] += (inputs[t + 1][j] - inputs[0][j]) * w }
        }
        for j in vectorEnd..<n {
            var sum = out[j]
            if normalize { sum /= divisor }
            if lambda != 1 { sum *= lambda }
            out[j] = inputs[0][j] + sum
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
