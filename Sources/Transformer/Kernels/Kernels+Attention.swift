import CBLAS
import Foundation

extension Kernels {
    /// The variant of attention a layer runs, chosen once per layer: the score scale, an optional sliding window
    /// and an optional soft-cap.
    struct AttentionVariant {
        /// The factor on q·k (1/√head_dim, or 1/√query_pre_attn_scalar).
        var scale: Float
        /// Query i attends to keys j with i − window < j ≤ i (transformers' `sliding_window_overlay`); nil: all j ≤ i.
        var window: Int?
        /// Scores s become c · tanh(s / c) before the softmax (Gemma 2's `attn_logit_softcapping`).
        var softCap: Float?

        /// The first key query `i` attends to.
        @inline(__always) func firstKey(_ i: Int) -> Int {
            guard let window else { return 0 }
            return max(0, i - window + 1)
        }
    }

    /// Causal grouped-query attention for one prompt, all heads.
    ///
    /// For query head h (key/value head g = h / (heads / kvHeads)), positions i, j < tokenCount:
    /// S[i][j] = scale · (q_h[i] · k_g[j]), then S ← c · tanh(S / c) when soft-capped, for first(i) ≤ j ≤ i
    /// (first(i) = max(0, i − window + 1) under a sliding window, else 0); P[i] = softmax(S[i][first(i)...i]);
    /// out_h[i] = Σ_j P[i][j] v_g[j]. Scores and the weighted sum are two `cblas_sgemm` calls per head, reading the
    /// heads in place (row strides heads·d and kvHeads·d); the softmax is a Float32 loop with the row maximum
    /// subtracted.
    ///
    /// - Parameters:
    ///   - q: [tokenCount × heads·d]; k, v: [tokenCount × kvHeads·d]; out: [tokenCount × heads·d].
    ///   - scores: scratch of tokenCount² floats.
    static func causalAttention(
        q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
        tokenCount n: Int, heads: Int, kvHeads: Int, headDimension d: Int, variant: AttentionVariant,
        scores: UnsafeMutablePointer<Float>, into out: UnsafeMutablePointer<Float>
    ) {
        let queryWidth = heads * d
        let keyWidth = kvHeads * d
        let group = heads / kvHeads
        if n <= smallAttention {
            smallCausalAttention(
                q: q, k: k, v: v, tokenCount: n, heads: heads, group: group, headDimension: d, variant: variant,
                scores: scores, into: out)
            return
        }
        for h in 0..<heads {
            let g = h / group
            let qh = q + h * d
            let kg = k + g * d
            let vg = v + g * d
            cblas_sgemm(
                CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(n), Int32(d),
                variant.scale, qh, Int32(queryWidth), kg, Int32(keyWidth), 0, scores, Int32(n))
            for i in 0..<n {
                let row = scores + i * n
                let first = variant.firstKey(i)
                if let cap = variant.softCap { softCap(row, first...i, cap) }
                softmax(row, first...i)
                for j in 0..<first { row[j] = 0 }
                for j in (i + 1)..<n { row[j] = 0 }
            }
            cblas_sgemm(
                CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(d), Int32(n),
                1, scores, Int32(n), vg, Int32(keyWidth), 0, out + h * d, Int32(queryWidth))
        }
    }

    /// Prompts up to this many tokens take ``smallCausalAttention``: their products are too small for BLAS, whose
    /// per-call cost (and thread wake-ups on a busy machine) would exceed the arithmetic.
    static let smallAttention = 32

    /// ``causalAttention`` with plain loops: the same formula, dot products accumulated in Float32 in index order.
    static func smallCausalAttention(
        q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, tokenCount n: Int, heads: Int,
        group: Int, headDimension d: Int, variant: AttentionVariant, scores: UnsafeMutablePointer<Float>,
        into out: UnsafeMutablePointer<Float>
    ) {
        let queryWidth = heads * d
        let keyWidth = heads / group * d
        let scale = variant.scale
        for h in 0..<heads {
            let g = h / group
            for i in 0..<n {
                let qi = q + i * queryWidth + h * d
                let row = scores + i * n
                let keys = variant.firstKey(i)...i
                for j in keys {
                    let kj = k + j * keyWidth + g * d
                    var dot: Float = 0
                    for t in 0..<d { dot += qi[t] * kj[t] }
                    row[j] = scale * dot
                }
                if let cap = variant.softCap { softCap(row, keys, cap) }
                softmax(row, keys)
                let target = out + i * queryWidth + h * d
                target.update(repeating: 0, count: d)
                for j in keys {
                    let p = row[j]
                    let vj = v + j * keyWidth + g * d
                    for t in 0..<d { target[t] += p * vj[t] }
                }
            }
        }
    }

    /// row[j] ← c · tanh(row[j] / c) for j in `range` (the order of transformers: divide, tanh, multiply).
    static func softCap(_ row: UnsafeMutablePointer<Float>, _ range: ClosedRange<Int>, _ cap: Float) {
        for j in range { row[j] = Foundation.tanh(row[j] / cap) * cap }
    }

    /// row[range] ← softmax(row[range]), in Float32 with the maximum subtracted.
    @inline(__always) static func softmax(_ row: UnsafeMutablePointer<Float>, _ range: ClosedRange<Int>) {
        var maximum = -Float.infinity
        for j in range where row[j] > maximum { maximum = row[j] }
        var sum: Float = 0
        for j in range {
            let e = Foundation.exp(row[j] - maximum)
            row[j] = e
            sum += e
        }
        for j in range { row[j] /= sum }
    }
}
