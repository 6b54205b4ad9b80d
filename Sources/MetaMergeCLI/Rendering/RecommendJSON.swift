import Evaluation
import Foundation

/// `recommend --json`.
struct RecommendJSON: Encodable {
    let tasks: [String]
    let weighting: String
    let weights: [Double]
    let scale: Double
    let coefficients: [Double]
    let linearScale: Double
    let probeCap: Double?
    let reason: [String]
    let warnings: [String]

    init(_ r: Recommendation) {
        tasks = r.taskNames
        weighting = r.weightingName
        weights = r.weights
        scale = r.scale
        coefficients = r.coefficients
        linearScale = r.linearScale
        probeCap = r.probeCap
        reason = r.reason
        warnings = r.warnings
    }
}
