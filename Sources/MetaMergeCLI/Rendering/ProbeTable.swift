import Evaluation
import Foundation

/// The probe's tables: per task the chord residual, Taylor error and R² (worst over prompts, mean in parentheses),
/// the pairs' additivity gaps and the merged points' gaps to the linear prediction.
struct ProbeTable {
    let result: ProbeResult

    var text: String {
        var lines = [
            "Linearity along each task vector (worst of \(result.prompts.count) prompts, mean in parentheses):"
        ]
        let width = max(result.taskNames.map(\.count).max() ?? 4, 4)
        func pad(_ text: String) -> String { text.padding(toLength: width, withPad: " ", startingAt: 0) }
        lines.append(pad("task") + "  chord residual     Taylor error       R² (min)")
        for (t, task) in result.taskNames.enumerated() {
            lines.append(
                pad(task) + "  \(Self.stats(result.chordResidual[t]))  \(Self.stats(result.taylorError[t]))  "
                    + Self.stats(result.rSquared[t], worstIsSmallest: true))
        }
        if !result.pairNames.isEmpty {
            lines.append("")
            lines.append("Additivity gap ‖f(θ0+τi+τj) − f(θ0) − (Δi+Δj)‖ / (‖Δi‖+‖Δj‖):")
            let pairWidth = result.pairNames.map(\.count).max() ?? 0
            for (p, pair) in result.pairNames.enumerated() {
                lines.append(
                    "  \(pair.padding(toLength: pairWidth, withPad: " ", startingAt: 0))  "
                        + "\(Self.stats(result.additivityGap[p]))"
                )
            }
        }
        lines.append("")
        lines.append("MetaGPT point θ0 + s·Σλτ: gap to the linear prediction s·ΣλΔ:")
        for (k, scale) in result.scales.enumerated() {
            lines.append(String(format: "  s = %-4g ", scale) + Self.stats(result.mergedGap[k]))
        }
        return lines.joined(separator: "\n")
    }

    /// The worst value over prompts (the largest, or for R² the smallest) and the mean; NaN values left out.
    private static func stats(_ row: [Double], worstIsSmallest: Bool = false) -> String {
        let finite = row.filter { !$0.isNaN }
        guard !finite.isEmpty else { return "undefined".padding(toLength: 17, withPad: " ", startingAt: 0) }
        let worst = worstIsSmallest ? finite.min()! : finite.max()!
        return String(format: "%7.4f (%7.4f)", worst, finite.reduce(0, +) / Double(finite.count))
    }
}
