import ArgumentParser
import Evaluation

/// `sweep --weights uniform,metagpt,w1:w2:…`, parsed into typed fields (``SweepWeights``) when the argument is
/// read; the checks that need the family (a vector's length against the task count, MetaGPT's λ) and the rest are
/// made when the sweep runs, with the library's one-line messages.
struct WeightsArgument: ExpressibleByArgument, ExpressibleByStringLiteral, Sendable {
    let weights: SweepWeights

    init(argument: String) { weights = SweepWeights(parsing: argument) }

    init(stringLiteral value: String) { self.init(argument: value) }

    var defaultValueDescription: String { weights.text }
}
