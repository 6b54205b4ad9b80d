import Evaluation
import Foundation

/// `sweep --json`.
struct SweepJSON: Encodable {
    struct Point: Encodable {
        let weighting: String
        let scale: Double
        let coefficients: [Float]
        let exactMatch: [Int]
        let tokenAccuracy: [Double]
        let meanNLL: [Double]
        let meanExactMatchRate: Double
    }
    let modelTasks: [String]
    let tasks: [String]
    let points: [Point]
    let bestWeighting: String
    let bestScale: Double

    init(_ result: SweepResult) {
        modelTasks = result.modelTasks
        tasks = result.evalTasks
        var points: [Point] = []
        let coefficients = result.grid.points
        let S = result.grid.scales.count
        for (i, weighting) in result.grid.weightings.enumerated() {
            for (k, s) in result.grid.scales.enumerated() {
                let row = result.metrics[i][k]
                points.append(
                    Point(
                        weighting: weighting.name, scale: s, coefficients: coefficients[i * S + k],
                        exactMatch: row.map(\.exactMatch),
                        tokenAccuracy: row.map(\.tokenAccuracy), meanNLL: row.map(\.meanNLL),
                        meanExactMatchRate: result.meanExactMatch(i, k)))
            }
        }
        self.points = points
        let best = result.best(task: nil)
        bestWeighting = result.grid.weightings[best.weighting].name
        bestScale = result.grid.scales[best.scale]
    }
}
