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
    let coefficients: OrNull<[Double]>
    let linearScale: Double
    let probeCap: Double?
    let expectedShortfall: OrNull<Double>
    let labelledItemsNeeded: Int?
    let mode = "data-free"
    let reason: [String]
    let warnings: [String]

    init(_ r: Recommendation) {
        tasks = r.taskNames
        weighting = r.weightingName
        weights = r.weights
        scale = r.scale
        coefficients = OrNull(r.abstains ? nil : r.coefficients)
        linearScale = r.linearScale
        probeCap = r.probeCap
        expectedShortfall = OrNull(r.expectedShortfall)
        labelledItemsNeeded = r.abstains ? Recommendation.labelledItemsNeeded : nil
        reason = r.reason
        warnings = r.warnings
    }

    /// A value written as JSON null when absent (a plain optional's key would be left out).
    struct OrNull<Value: Encodable>: Encodable {
        let value: Value?
        init(_ value: Value?) { self.value = value }

        func encode(to encoder: Encoder) throws {
            var container = encoder.singleValueContainer()
            if let value { try container.encode(value) } else { try container.encodeNil() }
        }
    }
}
