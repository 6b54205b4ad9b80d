import Foundation

/// Rotary position embeddings in the half-split ("rotate_half") layout of Hugging Face checkpoints.
///
/// For head dimension d and base θ: inv_freq[i] = 1 / θ^(2i/d), i = 0..<d/2, rescaled by the RoPE type
/// (``RotaryScaling``), and at position p the angle is a = p · inv_freq[i] (all Float32, as transformers computes
/// them); yarn also scales cos and sin. A head vector x = [x₁ | x₂] (halves of
/// length d/2) becomes [x₁ cos a − x₂ sin a | x₂ cos a + x₁ sin a] — i.e. x·cos + rotate_half(x)·sin with
/// rotate_half(x) = [−x₂ | x₁]. Positions are 0..<tokenCount (no cache, one prompt per pass). With partial rotary
/// (Phi-3's `partial_rotary_factor`) only the first `rotaryDimension` r of each head's d entries rotate, as above
/// with d replaced by r (the frequencies are those of dimension r); the rest pass through.
struct RotaryEmbedding {
    let headDimension: Int
    /// The rotated leading part of each head (even, ≤ headDimension).
    let rotaryDimension: Int
    let tokenCount: Int
    /// cos and sin of the angle, [tokenCount × d/2].
    private(set) var cosines: [Float]
    private(set) var sines: [Float]

    init(theta: Double, headDimension: Int, tokenCount: Int) {
        let (inverse, scaling) = RotaryScaling.none.frequencies(theta: theta, headDimension: headDimension)
        self.init(
            inverseFrequencies: inverse, attentionScaling: scaling, headDimension: headDimension,
            tokenCount: tokenCount)
    }

    /// Tables for a RoPE type: angle p · inv_freq[i], cos and sin multiplied by `attentionScaling` (yarn's factor;
    /// 1 otherwise, which leaves them exact).
    init(theta: Double, scaling: RotaryScaling, headDimension: Int, tokenCount: Int) {
        let (inverse, factor) = scaling.frequencies(theta: theta, headDimension: headDimension)
        self.init(
            inverseFrequencies: inverse, attentionScaling: factor, headDimension: headDimension,
            tokenCount: tokenCount)
    }

    init(
        inverseFrequencies: [Float], attentionScaling: Float, headDimension: Int, rotaryDimension: Int? = nil,
        tokenCount: Int
    ) {
        self.headDimension = headDimension
        self.rotaryDimension = rotaryDimension ?? headDimension
        self.tokenCount = tokenCount
        let half = self.rotaryDimension / 2
        var cosines = [Float](repeating: 0, count: tokenCount * half)
        var sines = [Float](repeating: 0, count: tokenCount * half)
        for p in 0..<tokenCount {
            for i in 0..<half {
                let angle = Float(p) * inverseFrequencies[i]
                cosines[p * half + i] = Foundation.cos(angle) * attentionScaling
                sines[p * half + i] = Foundation.sin(angle) * attentionScaling
            }
        }
        self.cosines = cosines
        self.sines = sines
    }

    /// Rotates every head of a [tokenCount × heads·d] row-major matrix in place.
    func apply(to x: UnsafeMutablePointer<Float>, heads: Int) {
        apply(to: x, rows: tokenCount, heads: heads)
    }

    /// Rotates every head of the first `rows` (≤ tokenCount) rows of a [rows × heads·d] matrix: row p is position p
    /// (the first ``rotaryDimension`` values of each head, in the rotate-half layout; the rest are left as they are).
    func apply(to x: UnsafeMutablePointer<Float>, rows: Int, heads: Int) {
        apply(to: x, rows: rows, heads: heads, headStride: headDimension)
    }
}
