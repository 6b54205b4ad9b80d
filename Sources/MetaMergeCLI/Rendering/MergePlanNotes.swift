import Checkpoints
import Foundation
import Merging
import Statistics

/// What `merge` says on stderr before it writes: the inputs' and the plan's notes, MetaGPT's λ, the random seed of
/// a stochastic method, and the gate's verdict.
struct MergePlanNotes {
    let plan: MergePlan

    /// The notes, λ and seed lines.
    var lines: [String] {
        var lines: [String] = []
        for input in plan.inputs {
            for note in input.checkpoint.notes { lines.append("note: \(input.reference): \(note)") }
        }
        for note in plan.notes { lines.append("note: \(note)") }
        if let lambdas = plan.globalLambdas {
            let text = zip(plan.taskNames, lambdas).map { String(format: "%@ %.6f", $0, $1) }.joined(
                separator: ", ")
            lines.append("MetaGPT λ: \(text)")
        }
        if plan.method.isStochastic {
            let how = plan.seedGiven ? "" : " (drawn; pass --random-seed \(plan.seed) to reproduce)"
            lines.append("random seed \(plan.seed)\(how)")
        }
        return lines
    }

    /// The gate's verdict: a headline (an error when the gate failed), then its figures, or at most 50 violations.
    static func gate(_ outcome: GateOutcome) -> (headline: String, details: [String]) {
        guard !outcome.passed else {
            return ("gate \(outcome.thresholds.summary): passed", outcome.figures.map { "  \($0)" })
        }
        var details = outcome.violations.prefix(50).map { "  \($0)" }
        if outcome.violations.count > 50 { details.append("  … \(outcome.violations.count - 50) more") }
        return ("gate \(outcome.thresholds.summary) failed: \(outcome.violations.count) violation(s)", details)
    }
}
