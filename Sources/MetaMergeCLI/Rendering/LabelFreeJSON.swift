import Evaluation
import Foundation

/// `recommend --prompts --json`: the recommended point (`coefficients`, `weighting`, `weights`, `scale`: null when
/// abstaining), `criteria` (each criterion's pick, and the data-free point, with its numbers), `expectedShortfall`
/// and its parts, `labelledItemsNeeded` (only when abstaining), every scored candidate, and the data-free
/// recommendation in full (`dataFree`, as `recommend --json` without --prompts prints it).
struct LabelFreeJSON: Encodable {
    /// A point and its label-free numbers; `score` is the criterion's value (null for the data-free entry).
    struct Point: Encodable {
        let weighting: String
        let weights: [Double]
        let scale: Double
        let coefficients: [Double]
        let score: OrNull<Double>
        let agreement: Double
        let tokenAgreement: Double
        let kl: Double
        let entropy: Double
        let stability: OrNull<Double>

        init(_ c: LabelFreeSelection.Candidate, score: Double?) {
            weighting = c.weighting
            weights = c.weights
            scale = c.scale
            coefficients = c.coefficients
            self.score = OrNull(score)
            agreement = c.agreement
            tokenAgreement = c.tokenAgreement
            kl = c.meanKL
            entropy = c.meanEntropy
            stability = OrNull(c.stability.isNaN ? nil : c.stability)
        }
    }

    let mode = "label-free"
    let tasks: [String]
    let weighting: OrNull<String>
    let weights: OrNull<[Double]>
    let scale: OrNull<Double>
    let coefficients: OrNull<[Double]>
    let recommendedCriterion: String
    let criteria: [String: Point]
    let expectedShortfall: Double
    let shortfall: [String: Double]
    let labelledItemsNeeded: Int?
    let maxNewTokens: Int
    let prompts: [String: Int]
    let candidates: [Point]
    let dataFree: RecommendJSON

    init(_ result: LabelFreeRun.Result, dataFree r: Recommendation) {
        let s = result.selection
        let chosen = s.recommended
        tasks = result.taskNames
        weighting = OrNull(chosen?.weighting)
        weights = OrNull(chosen?.weights)
        scale = OrNull(chosen?.scale)
        coefficients = OrNull(chosen?.coefficients)
        recommendedCriterion = LabelFreeSelection.recommendedCriterion.rawValue
        var criteria: [String: Point] = [:]
        for criterion in LabelFreeSelection.Criterion.allCases {
            let c = s.candidates[s.picks[criterion]!]
            let value = c.score(criterion)
            criteria[criterion.rawValue] = Point(c, score: value.isNaN ? nil : value)
        }
        criteria["data-free"] = Point(s.candidates[result.dataFree], score: nil)
        self.criteria = criteria
        expectedShortfall = s.expectedShortfall
        shortfall = [
            "sampling": s.sampling, "disagreement": s.disagreement, "flatness": s.flatness,
            "threshold": LabelFreeSelection.abstainAbove,
        ]
        labelledItemsNeeded = chosen == nil ? LabelFreeSelection.labelledItemsNeeded : nil
        maxNewTokens = result.maxNewTokens
        prompts = Dictionary(
            uniqueKeysWithValues: zip(result.taskNames, s.candidates[0].scores.map(\.prompts)))
        candidates = s.candidates.map { Point($0, score: nil) }
        dataFree = RecommendJSON(r)
    }
}
