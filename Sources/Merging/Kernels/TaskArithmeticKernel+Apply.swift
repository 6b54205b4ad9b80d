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
        // T weighted rows.
        let weighted = io.scratch.buffer("gta.weighted", count: T * block, of: Float.self)
        try io.forEachBlock(range) { start, n, inputs in
            let base = inputs[0]
            for t in 0..<T {
                let d = weighted + t * block
                let x = inputs[t + 1]
                mm_subtract(x, base, n, d)
                mask(t, d, count: n, start: start, cursors: &cursors[t])
                if let factor = factors[t] { mm_scale(d, n, factor) }
                mm_scale(d, n, weights[t])
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

    /// `out = b + λ·((Σₜ Wₜ) / divisor)`, the sum from task 0 (`mm_linear_combine`).
    func combine(
        _ W: UnsafeMutablePointer<Float>, base: UnsafeMutablePointer<Float>, count n: Int,
        into out: UnsafeMutablePointer<Float>
    ) {
        mm_linear_combine(
            W, KernelIO.blockElements, tasks, settings.normalize ? 1 : 0, divisorWithoutConsensus, lambda,
            base, n, out)
    }

    /// TIES' election, element-wise and branch-free (`mm_consensus_combine`, at the machine's vector width): the
    /// majority sign is that of Σₜ Wₜ (summed in model order, ≥ 0 counts as +), each Wₜ of that sign is added (in
    /// model order) to `mixed` and its weight to the divisor (0 → 1); then ÷ divisor with `normalize`, ·λ when
    /// λ ≠ 1, and b + mixed.
    func combineWithConsensus(
        _ W: UnsafeMutablePointer<Float>, base: UnsafeMutablePointer<Float>, count n: Int,
        into out: UnsafeMutablePointer<Float>
    ) {
        weights.withUnsafeBufferPointer { w in
            mm_consensus_combine(
                W, KernelIO.blockElements, w.baseAddress!, tasks, settings.normalize ? 1 : 0, lambda, base, n, out)
        }
    }
}
