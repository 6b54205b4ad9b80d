import Evaluation
import Foundation

/// `recommend --prompts`'s text: each criterion's pick with its numbers, the recommended point (or the
/// abstention) with the expected shortfall, then the data-free recommendation.
struct LabelFreeText {
    let result: LabelFreeRun.Result
    let dataFree: Recommendation

    var text: String {
        let selection = result.selection
        let names = result.taskNames
        let prompts = selection.candidates.first?.scores.map { String($0.prompts) }.joined(separator: "/") ?? "0"
        var lines = [
            "Label-free: \(names.count) task model(s) × \(prompts) prompts; teachers' greedy continuations ≤ "
                + "\(result.maxNewTokens) tokens; \(selection.candidates.count) points scored",
            "  " + pad("criterion", 11) + pad("pick", 22) + pad("agreement", 11) + pad("tokens", 8) + pad("KL", 9)
                + pad("entropy", 9) + "stability",
        ]
        let rows: [(String, Int)] =
            LabelFreeSelection.Criterion.allCases.map { ($0.rawValue, selection.picks[$0]!) }
            + [("data-free", result.dataFree)]
        for (name, index) in rows {
            let c = selection.candidates[index]
            lines.append(
                "  " + pad(name, 11) + pad("\(c.weighting) s = \(String(format: "%.3g", c.scale))", 22)
                    + pad(String(format: "%.3f", c.agreement), 11) + pad(String(format: "%.3f", c.tokenAgreement), 8)
                    + pad(String(format: "%.4f", c.meanKL), 9) + pad(String(format: "%.4f", c.meanEntropy), 9)
                    + (c.stability.isNaN ? "–" : String(format: "%.3f", c.stability)))
        }
        let shortfall = String(
            format: "expected shortfall %.3f (sampling %.3f, criteria %.3f, flatness %.3f; threshold %.2f)",
            selection.expectedShortfall, selection.sampling, selection.disagreement, selection.flatness,
            LabelFreeSelection.abstainAbove)
        if let c = selection.recommended {
            lines += [
                "Recommended point: \(c.weighting) weights at total scale s = \(String(format: "%.3g", c.scale)) "
                    + "(the \(LabelFreeSelection.recommendedCriterion.rawValue) pick)",
                "  c = " + zip(names, c.coefficients).map { String(format: "%@ %.3f", $0, $1) }.joined(separator: ", "),
                "  sweep it: --weights \(c.weights.map { String(format: "%.4f", $0) }.joined(separator: ":")) "
                    + "--scales \(String(format: "%.4g", c.scale))",
                "  " + shortfall,
            ]
        } else {
            lines += [
                "No reliable label-free point for this family: run `metamerge sweep` with "
                    + "\(LabelFreeSelection.labelledItemsNeeded) labelled items per task",
                "  " + shortfall,
            ]
        }
        lines.append("Data-free (statistics and probe only):")
        lines += RecommendationText(recommendation: dataFree).text.split(separator: "\n").map { "  " + $0 }
        return lines.joined(separator: "\n")
    }

    private func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }
}
