import Foundation

/// The demo's families side by side: the same thresholds, opposite verdicts; with the sweeps, the best point with
/// task data, MetaGPT at s = 1 and the data-free recommendation.
struct DemoComparison {
    let outcomes: [DemoOutcome]

    var text: String {
        var lines = ["\n\n== Two families, one gate"]
        let width = max(outcomes.map(\.name.count).max() ?? 0, 6)
        func pad(_ text: String) -> String { text.padding(toLength: width, withPad: " ", startingAt: 0) }
        lines.append(pad("family") + "  max |cos|  chord residual  additivity gap  gate")
        for outcome in outcomes {
            let cosine = outcome.maxCosine.map { String(format: "%9.3f", $0) } ?? "    undef"
            lines.append(
                pad(outcome.name) + "  \(cosine)  "
                    + String(format: "%14.3f  %14.3f  ", outcome.chordResidual, outcome.additivityGap)
                    + (outcome.passed ? "passes" : "FAILS"))
        }
        if outcomes.allSatisfy({ $0.sweep != nil }) {
            lines.append("")
            lines.append(pad("family") + "  best point with task data   MetaGPT s=1   data-free recommendation")
            for outcome in outcomes {
                let sweep = outcome.sweep!
                lines.append(
                    pad(outcome.name) + "  " + sweep.best.padding(toLength: 26, withPad: " ", startingAt: 0)
                        + String(format: "  %10.1f%%  ", sweep.metagptAtOne ?? .nan) + sweep.recommended)
            }
        }
        lines.append(
            "MetaGPT's closed-form λ rests on these assumptions: trust it where the gate passes; elsewhere measure "
                + "merges with task data (metamerge eval / sweep) before choosing coefficients.")
        return lines.joined(separator: "\n")
    }
}
