/// SplitMix64 (Steele, Lea & Flood, OOPSLA 2014) as a sequential generator: the state advances by
/// γ = 0x9E3779B97F4A7C15 and each value is the state through SplitMix64's output mix — the seeded streams of the
/// random probe prompts (``PromptSource``) and of the label-free bootstrap (``LabelFreeSelection``).
struct SplitMix64 {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A value in 0..<bound by the remainder (the streams' fixed definition; its bias of bound/2⁶⁴ is immaterial).
    mutating func next(below bound: Int) -> Int { Int(next() % UInt64(bound)) }
}
