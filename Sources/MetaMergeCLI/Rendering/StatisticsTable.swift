import Foundation
import Statistics

/// `analyze`'s tables: the global cosine matrix, MetaGPT's λ with the norms, the sign-conflict rate, the least
/// orthogonal groups, non-finite weights and the tensors not compared in full.
struct StatisticsTable {
    let summary: StatisticsSummary

    var text: String {
        var lines: [String] = []
        let width = max(summary.tasks.map(\.count).max() ?? 0, 6)
        func pad(_ text: String) -> String { text.padding(toLength: width, withPad: " ", startingAt: 0) }
        lines.append(
            "Compared \(summary.tensorsCompared) tensors, \(summary.parametersCompared) parameters per model.")
        lines.append("")
        lines.append("Global task-vector cosine matrix:")
        lines.append(pad("") + "  " + summary.tasks.map { pad($0) }.joined(separator: "  "))
        for (i, row) in summary.cosine.enumerated() {
            let cells = row.map { pad($0.map { String(format: "%+.4f", $0) } ?? "undef") }
            lines.append(pad(summary.tasks[i]) + "  " + cells.joined(separator: "  "))
        }
        lines.append("")
        lines.append(
            pad("task") + "  "
                + ["MetaGPT λ", "‖τ‖", "‖τ‖/‖θ0‖"].map { $0.padding(toLength: 11, withPad: " ", startingAt: 0) }
                .joined(separator: " "))
        for (t, task) in summary.tasks.enumerated() {
            lines.append(
                pad(task) + "  "
                    + [summary.metagptLambda[t], summary.norm[t], summary.relativeNorm[t]]
                    .map { $0.isNaN ? "n/c        " : String(format: "%-11.5g", $0) }.joined(separator: " "))
        }
        if summary.tensorsWithoutCoordinateStatistics > 0 {
            lines.append(
                "sign conflicts, ‖θ0‖ and relative norms (n/c): not computed for "
                    + "\(summary.tensorsWithoutCoordinateStatistics) of \(summary.tensorsCompared) tensors, whose task "
                    + "vectors are all LoRA adapters (Gram entries, norms and λ from their factors, exact; the base is "
                    + "not read)")
        } else {
            lines.append(String(format: "sign conflicts: %.2f%% of coordinates", summary.signConflictRate * 100))
        }
        lines.append("")
        lines.append("Least orthogonal groups (max |cos| over task pairs):")
        for layer in summary.leastOrthogonal.prefix(5) {
            let value = layer.maxAbsCosine.map { String(format: "%.4f", $0) } ?? "undefined"
            lines.append(
                "  \(layer.label.padding(toLength: 12, withPad: " ", startingAt: 0)) \(value)  "
                    + "\(layer.pair.joined(separator: " · "))"
            )
        }
        if summary.nonFiniteValues.contains(where: { $0 > 0 }) {
            lines.append(
                "warning: non-finite weights (left out of every sum), per model base, tasks: "
                    + "\(summary.nonFiniteValues)"
            )
        }
        if !summary.problems.isEmpty {
            lines.append("")
            lines.append("Tensors not compared in full (\(summary.problems.count)):")
            for problem in summary.problems.prefix(10) { lines.append("  \(problem)") }
            if summary.problems.count > 10 {
                lines.append("  … and \(summary.problems.count - 10) more (see /problems in the report)")
            }
        }
        return lines.joined(separator: "\n")
    }
}
