import Evaluation
import Foundation

/// `sweep`'s tables: per weighting, exact match (%) per task file at each total scale s with the mean and the
/// mean NLL; then the best point per task file and on the mean.
struct SweepTable {
    let result: SweepResult

    var text: String {
        let names = result.evalTasks
        let width = names.map { max($0.count, 7) }
        func cell(_ text: String, _ w: Int) -> String {
            String(repeating: " ", count: max(0, w - text.count)) + text
        }
        var lines: [String] = []
        lines.append("Exact match (%) per task; mean NLL over tasks:")
        for (i, weighting) in result.grid.weightings.enumerated() {
            lines.append("")
            lines.append(
                "weights \(weighting.name) = ("
                    + weighting.weights.map { String(format: "%.3g", $0) }.joined(separator: ", ") + ")")
            lines.append("      s" + zip(names, width).map { "  " + cell($0, $1) }.joined() + "     mean  mean NLL")
            for (k, s) in result.grid.scales.enumerated() {
                let row = result.metrics[i][k]
                lines.append(
                    cell(String(format: "%.4g", s), 7)
                        + zip(row, width).map { "  " + cell(String(format: "%.1f", 100 * $0.exactMatchRate), $1) }
                        .joined()
                        + String(format: "  %7.1f  %8.4f", 100 * result.meanExactMatch(i, k), result.meanNLL(i, k)))
            }
        }
        lines.append("")
        lines.append("Best point (highest exact match, then lowest NLL):")
        for (e, name) in (names.map(Optional.some) + [nil]).enumerated() {
            let best = result.best(task: name == nil ? nil : e)
            let em =
                name == nil
                ? result.meanExactMatch(best.0, best.1) : result.metrics[best.0][best.1][e].exactMatchRate
            lines.append(
                "  " + (name ?? "mean").padding(toLength: max(width.max() ?? 7, 7), withPad: " ", startingAt: 0)
                    + String(
                        format: "  %@ × s = %g: exact match %.1f%%", result.grid.weightings[best.0].name,
                        result.grid.scales[best.1], 100 * em))
        }
        return lines.joined(separator: "\n")
    }

    /// The demo's short table: the mean exact match (%) over the task files, one row per weighting, one column
    /// per total scale s.
    var meanExactMatch: String {
        var lines = [
            "weights   "
                + result.grid.scales.map { scale in
                    let label = "s=" + String(format: "%g", scale)
                    return String(repeating: " ", count: max(0, 7 - label.count)) + label
                }.joined()
        ]
        for (i, weighting) in result.grid.weightings.enumerated() {
            lines.append(
                weighting.name.padding(toLength: 10, withPad: " ", startingAt: 0)
                    + result.grid.scales.indices.map {
                        String(format: "%7.1f", 100 * result.meanExactMatch(i, $0))
                    }.joined())
        }
        return lines.joined(separator: "\n")
    }
}
