/// Prompts of ragged lengths stacked row-wise: prompt q occupies rows `offsets[q] ..< offsets[q] + count` of every
/// [tokens × width] activation matrix, so one matrix product per weight covers every token of every prompt, while
/// attention and positions stay per prompt.
public struct PromptBatch: Sendable, Hashable {
    public let prompts: [[Int]]
    /// First row of each prompt.
    public let offsets: [Int]
    /// Total tokens N = Σ prompt lengths.
    public let tokenCount: Int
    /// The longest prompt's length.
    public let longest: Int

    public init(_ prompts: [[Int]]) {
        self.prompts = prompts
        var offsets: [Int] = []
        var total = 0
        for prompt in prompts {
            offsets.append(total)
            total += prompt.count
        }
        self.offsets = offsets
        tokenCount = total
        longest = prompts.map(\.count).max() ?? 0
    }

    /// The rows of prompt `q`.
    public func rows(of q: Int) -> Range<Int> {
        offsets[q]..<(offsets[q] + prompts[q].count)
    }
}
