/// What one forward pass over a prompt of `tokenCount` tokens produced.
public struct ForwardOutput: Sendable {
    public let tokenCount: Int
    public let hiddenSize: Int
    public let vocabularySize: Int
    /// The positions whose logits were computed, in order (`0..<tokenCount`, the last one, or none).
    public let logitPositions: Range<Int>
    /// Logits, row-major [logitPositions.count × vocabularySize]: row r is position logitPositions.lowerBound + r.
    public let logits: [Float]
    /// The final hidden state (after the final RMSNorm), row-major [tokenCount × hiddenSize].
    public let hiddenStates: [Float]

    /// The vocabulary-sized logit row of `position` (which must be in ``logitPositions``).
    public func logits(at position: Int) -> ArraySlice<Float> {
        precondition(logitPositions.contains(position), "no logits computed for position \(position)")
        let row = position - logitPositions.lowerBound
        return logits[(row * vocabularySize)..<((row + 1) * vocabularySize)]
    }

    /// The final hidden state of `position`.
    public func hiddenState(at position: Int) -> ArraySlice<Float> {
        precondition((0..<tokenCount).contains(position), "position \(position) outside 0..<\(tokenCount)")
        return hiddenStates[(position * hiddenSize)..<((position + 1) * hiddenSize)]
    }
}
