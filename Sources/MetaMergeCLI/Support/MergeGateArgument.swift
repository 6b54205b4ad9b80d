import ArgumentParser
import Merging
import Statistics

/// `merge --gate max-cosine=X[,scope=global|layer|tensor][,max-chord-residual=Y,…]`, parsed once
/// (``GateThresholds/merge(parsing:)``) when the argument is read; a bad one is thrown by ``thresholds()`` with
/// the library's one-line message.
struct MergeGateArgument: ExpressibleByArgument, Sendable {
    let text: String
    private let parsed: Result<GateThresholds, any Error>

    init(argument: String) {
        text = argument
        parsed = Result { try GateThresholds.merge(parsing: argument) }
    }

    /// The gate's thresholds.
    ///
    /// - Throws: the parser's error naming the bad key or value.
    func thresholds() throws -> GateThresholds { try parsed.get() }
}
