import Evaluation
import Foundation

/// `recommend --json` (data-free): the point, its reason and warnings, `mode` "data-free", the point again under
/// `criteria["data-free"]` (as a label-free run lists it beside its criteria; `score` null) and `expectedShortfall`
/// null (the data-free rule does not estimate one).
struct RecommendJSON: Encodable {
    struct Pick: Encodable {
        let weighting: String
        let weights: [Double]
        let scale: Double
        let coefficients: [Double]

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(weighting, forKey: .weighting)
            try c.encode(weights, forKey: .weights)
            try c.encode(scale, forKey: .scale)
            try c.encode(coefficients, forKey: .coefficients)
            try c.encodeNil(forKey: .score)
        }

        enum CodingKeys: String, CodingKey { case weighting, weights, scale, coefficients, score }
    }

    let mode = "data-free"
    let tasks: [String]
    let weighting: String
    let weights: [Double]
    let scale: Double
    let coefficients: [Double]
    let linearScale: Double
    let probeCap: Double?
    let reason: [String]
    let warnings: [String]
    let criteria: [String: Pick]

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
        criteria = [
            "data-free": Pick(weighting: weighting, weights: weights, scale: scale, coefficients: coefficients)
        ]
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(mode, forKey: .mode)
        try c.encode(tasks, forKey: .tasks)
        try c.encode(weighting, forKey: .weighting)
        try c.encode(weights, forKey: .weights)
        try c.encode(scale, forKey: .scale)
        try c.encode(coefficients, forKey: .coefficients)
        try c.encode(linearScale, forKey: .linearScale)
        try c.encodeIfPresent(probeCap, forKey: .probeCap)
        try c.encode(reason, forKey: .reason)
        try c.encode(warnings, forKey: .warnings)
        try c.encode(criteria, forKey: .criteria)
        try c.encodeNil(forKey: .expectedShortfall)
    }

    enum CodingKeys: String, CodingKey {
        case mode, tasks, weighting, weights, scale, coefficients, linearScale, probeCap, reason, warnings, criteria
        case expectedShortfall
    }
}
