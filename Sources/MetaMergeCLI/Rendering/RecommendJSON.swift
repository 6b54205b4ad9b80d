import Evaluation
import Foundation

/// `recommend --json`. `mode` is `data-free`; `expectedShortfall` is the probe's median merged-point gap at the
/// point (null without a probe); when the rule abstains, `coefficients` is null and `labelledItemsNeeded` says how
/// many labelled items per task `sweep` needs (the would-be point stays in `weights` and `scale`).
struct RecommendJSON: Encodable {
    let tasks: [String]
    let weighting: String
    let weights: [Double]
    let scale: Double
    let coefficients: [Double]?
    let linearScale: Double
    let probeCap: Double?
    let expectedShortfall: Double?
    let labelledItemsNeeded: Int?
    let mode = "data-free"
    let reason: [String]
    let warnings: [String]

    init(_ r: Recommendation) {
        tasks = r.taskNames
        weighting = r.weightingName
        weights = r.weights
        scale = r.scale
        coefficients = r.abstains ? nil : r.coefficients
        linearScale = r.linearScale
        probeCap = r.probeCap
        expectedShortfall = r.expectedShortfall
        labelledItemsNeeded = r.abstains ? Recommendation.labelledItemsNeeded : nil
        reason = r.reason
        warnings = r.warnings
    }

    enum CodingKeys: String, CodingKey {
        case tasks, weighting, weights, scale, coefficients, linearScale, probeCap, expectedShortfall
        case labelledItemsNeeded, mode, reason, warnings
    }

    /// As the synthesized encoding, but `coefficients` and `expectedShortfall` are written as null when absent.
    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(tasks, forKey: .tasks)
        try c.encode(weighting, forKey: .weighting)
        try c.encode(weights, forKey: .weights)
        try c.encode(scale, forKey: .scale)
        try c.encode(coefficients, forKey: .coefficients)
        try c.encode(linearScale, forKey: .linearScale)
        try c.encodeIfPresent(probeCap, forKey: .probeCap)
        try c.encode(expectedShortfall, forKey: .expectedShortfall)
        try c.encodeIfPresent(labelledItemsNeeded, forKey: .labelledItemsNeeded)
        try c.encode(mode, forKey: .mode)
        try c.encode(reason, forKey: .reason)
        try c.encode(warnings, forKey: .warnings)
    }
}
