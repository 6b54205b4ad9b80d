import Evaluation
import Foundation

/// `recommend`'s text: the point (weighting and total scale s), its coefficients, the `sweep` arguments that
/// check it, the reason and the warnings.
struct RecommendationText {
    let recommendation: Recommendation

    var text: String {
        let r = recommendation
        var lines: [String] = []
        if r.abstains {
            lines.append(
                String(
                    format:
                        "No reliable data-free point for this family (expected shortfall %.3f > %.2f): run `metamerge "
                        + "sweep` with %d labelled items per task. The rule's point, not recommended:",
                    r.expectedShortfall ?? .nan, Recommendation.abstainAbove, Recommendation.labelledItemsNeeded))
        }
        lines += [
            "Recommended point: \(r.weightingName) weights at total scale s = "
                + "\(String(format: "%.2f", r.scale))",
            "  c = "
                + zip(r.taskNames, r.coefficients).map { String(format: "%@ %.3f", $0, $1) }.joined(
                    separator: ", "),
            "  sweep it: --weights \(r.weights.map { String(format: "%.4f", $0) }.joined(separator: ":")) "
                + "--scales \(String(format: "%.2f", r.scale))",
        ]
        if let shortfall = r.expectedShortfall, !r.abstains {
            lines.append(
                String(
                    format: "  expected shortfall %.3f (abstains above %.2f)", shortfall,
                    Recommendation.abstainAbove))
        }
        lines.append("Why:")
        lines += r.reason.map { "  " + $0 }
        if !r.warnings.isEmpty {
            lines.append("Warnings:")
            lines += r.warnings.map { "  " + $0 }
        }
        return lines.joined(separator: "\n")
    }
}
