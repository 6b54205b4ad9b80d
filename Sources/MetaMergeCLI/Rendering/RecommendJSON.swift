import Evaluation
import Foundation

/// `recommend --json` (data-free): the point, its reason and warnings, `mode` "data-free", the point again under
/// `criteria["data-free"]` (as a label-free run lists it beside its criteria; `score` null), `expectedShortfall` (the
/// probe's median merged-point gap at the point; null without a probe) and, when the rule abstains, `coefficients`
/// null and `labelledItemsNeeded` (the would-be point stays in `weights`, `scale` and the criterion's pick).
struct RecommendJSON: Encodable {
    struct Pick: Encodable {
        let weighting: String
        let weights: [Double]
        let scale: Double
        let coefficients: [Double]
        let score = OrNull<Double>(nil)
    }

    let mode = "data-free"
    let tasks: [String]
    let weighting: String
    let weights: [Double]
    let scale: Double
    let coefficients: OrNull<[Double]>
    let linearScale: Double
    let probeCap: Double?
    let reason: [String]
    let warnings: [String]
    let criteria: [String: Pick]
    let expectedShortfall: OrNull<Double>
    let labelledItemsNeeded: Int?

    init(_ r: Recommendation) {
        tasks = r.taskNames
        weighting = r.weightingName
        weights = r.weights
        scale = r.scale
        coefficients = OrNull(r.abstains ? nil : r.coefficients)
        linearScale = r.linearScale
        probeCap = r.probeCap
        reason = r.reason
        warnings = r.warnings
        criteria = [
            "data-free": Pick(weighting: weighting, weights: weights, scale: scale, coefficients: r.coefficients)
        ]
        expectedShortfall = OrNull(r.expectedShortfall)
        labelledItemsNeeded = r.abstains ? Recommendation.labelledItemsNeeded : nil
    }
}
