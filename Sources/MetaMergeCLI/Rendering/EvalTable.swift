import Evaluation
import Foundation

/// `eval`'s table: per task file its items, exact match (count and %), token accuracy and mean completion NLL.
struct EvalTable {
    let names: [String]
    let metrics: [TaskMetrics]

    var text: String {
        let width = max(names.map(\.count).max() ?? 4, 4)
        var lines = [
            "task".padding(toLength: width, withPad: " ", startingAt: 0)
                + "  items  exact match     token acc.  mean NLL"
        ]
        for (name, m) in zip(names, metrics) {
            lines.append(
                name.padding(toLength: width, withPad: " ", startingAt: 0)
                    + String(
                        format: "  %5d  %4d (%5.1f%%)  %10.4f  %8.4f", m.items, m.exactMatch,
                        100 * m.exactMatchRate, m.tokenAccuracy, m.meanNLL))
        }
        return lines.joined(separator: "\n")
    }
}
