/// The random numbers of stochastic methods (DARE, DELLA): a counter-based generator, so that the draw for an
/// element depends only on (seed, tensor name, input, element index) — never on the thread count, chunking or
/// the order tensors are processed in.
///
/// The stream is SplitMix64 (Steele, Lea & Flood, "Fast splittable pseudorandom number generators", OOPSLA 2014)
/// in counter mode: the i-th value is mix64(key + (i + 1)·γ) with γ = 0x9E3779B97F4A7C15 and mix64 SplitMix64's
/// output function; the key is mix64 of the seed, the 64-bit FNV-1a hash of the tensor name and the input index.
/// A Bernoulli(p) draw keeps an element when the high 32 bits of its value are below ⌊p·2³²⌋.
struct CounterRandom: Sendable {
    let key: UInt64

    static let gamma: UInt64 = 0x9E37_79B9_7F4A_7C15

    init(seed: UInt64, tensor: String, input: Int) {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in tensor.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        key = Self.mix(Self.mix(seed ^ hash) &+ UInt64(input) &* Self.gamma)
    }

    @inline(__always)
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// 32 uniform bits for element `index`.
    @inline(__always)
    func bits(_ index: Int) -> UInt32 {
        UInt32(truncatingIfNeeded: Self.mix(key &+ (UInt64(bitPattern: Int64(index)) &+ 1) &* Self.gamma) >> 32)
    }

    /// The threshold t with P(bits < t) = p for p in [0, 1) (p ≥ 1 keeps everything; see ``keeps(_:threshold:)``).
    static func threshold(probability p: Double) -> UInt64 {
        if !(p > 0) { return 0 }
        if p >= 1 { return 1 << 32 }
        return UInt64((p * 4_294_967_296.0).rounded(.down))
    }

    @inline(__always)
    func keeps(_ index: Int, threshold: UInt64) -> Bool {
        UInt64(bits(index)) < threshold
    }
}
