extension RotaryEmbedding {
    /// Rotates the first ``rotaryDimension`` values of every head of a [rows × heads·headStride] matrix in place and
    /// leaves the other headStride − rotaryDimension values of each head as they are (transformers'
    /// `q[..., :rotary_dim]`). Value i of the rotated part (i < rotaryDimension / 2) is paired with its partner:
    /// - rotate-half layout (`interleaved` false): x[i] with x[i + rotaryDimension/2];
    /// - interleaved pairs (Cohere's `rotate_half`, `interleaved` true): x[2i] with x[2i + 1];
    /// and the pair (a, b) becomes (a cos θᵢ − b sin θᵢ, b cos θᵢ + a sin θᵢ).
    func apply(to x: UnsafeMutablePointer<Float>, rows: Int, heads: Int, headStride: Int, interleaved: Bool = false) {
        precondition(rows <= tokenCount, "\(rows) rows for rotary tables of \(tokenCount) positions")
        precondition(
            rotaryDimension <= headStride, "rotary dimension \(rotaryDimension) > head dimension \(headStride)")
        let half = rotaryDimension / 2
        guard half > 0 else { return }
        let width = heads * headStride
        // Value i sits at i · step; its partner `partner` values further on.
        let (step, partner) = interleaved ? (2, 1) : (1, half)
        cosines.withUnsafeBufferPointer { cosines in
            sines.withUnsafeBufferPointer { sines in
                for p in 0..<rows {
                    let c = cosines.baseAddress! + p * half
                    let s = sines.baseAddress! + p * half
                    for h in 0..<heads {
                        let first = x + p * width + h * headStride
                        let second = first + partner
                        for i in 0..<half {
                            let a = first[i * step]
                            let b = second[i * step]
                            first[i * step] = a * c[i] - b * s[i]
                            second[i * step] = b * c[i] + a * s[i]
                        }
                    }
                }
            }
        }
    }
}
