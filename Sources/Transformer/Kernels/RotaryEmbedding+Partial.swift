extension RotaryEmbedding {
    /// Partial rotary: rotates the first ``rotaryDimension`` values of every head of a
    /// [rows × heads·headStride] matrix in place, in the rotate-half layout of those values, and leaves the other
    /// headStride − rotaryDimension values of each head as they are (transformers' `q[..., :rotary_dim]`).
    func apply(to x: UnsafeMutablePointer<Float>, rows: Int, heads: Int, headStride: Int) {
        precondition(rows <= tokenCount, "\(rows) rows for rotary tables of \(tokenCount) positions")
        precondition(
            rotaryDimension <= headStride, "rotary dimension \(rotaryDimension) > head dimension \(headStride)")
        let half = rotaryDimension / 2
        guard half > 0 else { return }
        let width = heads * headStride
        cosines.withUnsafeBufferPointer { cosines in
            sines.withUnsafeBufferPointer { sines in
                for p in 0..<rows {
                    let c = cosines.baseAddress! + p * half
                    let s = sines.baseAddress! + p * half
                    for h in 0..<heads {
                        let first = x + p * width + h * headStride
                        let second = first + half
                        for i in 0..<half {
                            let a = first[i]
                            let b = second[i]
                            first[i] = a * c[i] - b * s[i]
                            second[i] = b * c[i] + a * s[i]
                        }
                    }
                }
            }
        }
    }
}

extension RotaryEmbedding {
    /// Interleaved rotary (Cohere's `rotate_half` on pairs): within the first ``rotaryDimension`` values of every
    /// head, the pair (x₂ᵢ, x₂ᵢ₊₁) becomes (x₂ᵢ cos aᵢ − x₂ᵢ₊₁ sin aᵢ, x₂ᵢ₊₁ cos aᵢ + x₂ᵢ sin aᵢ).
    func applyInterleaved(to x: UnsafeMutablePointer<Float>, rows: Int, heads: Int, headStride: Int) {
        precondition(rows <= tokenCount, "\(rows) rows for rotary tables of \(tokenCount) positions")
        precondition(
            rotaryDimension <= headStride, "rotary dimension \(rotaryDimension) > head dimension \(headStride)")
        let half = rotaryDimension / 2
        guard half > 0 else { return }
        let width = heads * headStride
        cosines.withUnsafeBufferPointer { cosines in
            sines.withUnsafeBufferPointer { sines in
                for p in 0..<rows {
                    let c = cosines.baseAddress! + p * half
                    let s = sines.baseAddress! + p * half
                    for h in 0..<heads {
                        let head = x + p * width + h * headStride
                        for i in 0..<half {
                            let a = head[2 * i]
                            let b = head[2 * i + 1]
                            head[2 * i] = a * c[i] - b * s[i]
                            head[2 * i + 1] = b * c[i] + a * s[i]
                        }
                    }
                }
            }
        }
    }
}
