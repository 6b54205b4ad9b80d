/// Which positions of a prompt get logits: all (for per-token analysis), the last (next-token prediction), or
/// none (only the final hidden state is wanted).
public enum LogitPositions: Sendable, Hashable {
    case all, last, none
}
