import CBLAS
import Foundation

extension Kernels {
    /// Causal grouped-query attention for one prompt, all heads.
    ///
    /// For query head h (key/value head g = h / (heads / kvHeads)), positions i, j < tokenCount:
    /// S[i][j] = (q_h[i] · k_g[j]) / √d for j ≤ i; P[i] = softmax(S[i][0...i]); out_h[i] = Σ_j P[i][j] v_g[j].
    /// Scores and the weighted sum are two `cblas_sgemm` calls per head, reading the heads in place
    /// (row strides heads·d and kvHeads·d); the softmax is a Float32 loop with the row maximum subtracted.
    ///
    /// - Parameters:
    ///   - q: [tokenCount × heads·d]; k, v: [tokenCount × kvHeads·d]; out: [tokenCount × heads·d].
    ///   - scores: scratch of tokenCount² floats.
    static func causalAttention(
        q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
        tokenCount n: Int, heads: Int, kvHeads: Int, headDimension d: Int,
        scores: UnsafeMutablePointer<Float>, into out: UnsafeMutablePointer<Float>
    ) {
        let queryWidth = heads * d
        let keyWidth = kvHeads * d
        let group = heads / kvHeads
        let scale = 1 / Float(d).squareRoot()
        if n <= smallAttention {
            smallCausalAttention(
                q: q, k: k, v: v, tokenCount: n, heads: heads, group: group, headDimension: d, scale: scale,
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
                scale, qh, Int32(queryWidth), kg, Int32(keyWidth), 0, scores, Int32(n))
            for i in 0..<n {
                let row = scores + i * n
                var maximum = -Float.infinity
                for j in 0...i where row[j] > maximum { maximum = row[j] }
                var sum: Float = 0
                for j in 0...i {
                    let e = Foundation.exp(row[j] - maximum)
                    row[j] = e
                    sum += e
                }
                for j in 0...i { row[j] /= sum }
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
        group: Int, headDimension d: Int, scale: Float, scores: UnsafeMutablePointer<Float>,
        into out: UnsafeMutablePointer<Float>
    ) {
        let queryWidth = heads * d
        let keyWidth = heads / group * d
        for h in 0..<heads {
            let g = h / group
            for i in 0..<n {
                let qi = q + i * queryWidth + h * d
                let row = scores + i * n
                var maximum = -Float.infinity
                for j in 0...i {
                    let kj = k + j * keyWidth + g * d
                    var dot: Float = 0
                    for t in 0..<d { dot += qi[t] * kj[t] }
                    row[j] = scale * dot
                    if row[j] > maximum { maximum = row[j] }
                }
                var sum: Float = 0
                for j in 0...i {
                    let e = Foundation.exp(row[j] - maximum)
                    row[j] = e
                    sum += e
                }
                for j in 0...i { row[j] /= sum }
                let target = out + i * queryWidth + h * d
                target.update(repeating: 0, count: d)
                for j in 0...i {
                    let p = row[j]
                    let vj = v + j * keyWidth + g * d
                    for t in 0..<d { target[t] += p * vj[t] }
                }
            }
        }
    }
}
