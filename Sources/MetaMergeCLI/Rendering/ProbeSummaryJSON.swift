import Evaluation
import Foundation
import Statistics

/// The probe's figures for `--json`.
struct ProbeSummaryJSON: Encodable {
    let tasks: [String]
    let pairs: [String]
    let chordResidualMax: [Double]
    let taylorErrorMax: [Double]
    let rSquaredMean: [Double]
    let additivityGapMax: [Double]
    let scales: [Double]
    let mergedGapMean: [Double]

    init(_ result: ProbeResult) {
        func mean(_ row: [Double]) -> Double { row.reduce(0, +) / Double(max(row.count, 1)) }
        tasks = result.taskNames
        pairs = result.pairNames
        let summary = result.summary
        chordResidualMax = summary.chordResidual.map(\.1)
        taylorErrorMax = summary.taylorError.map(\.1)
        rSquaredMean = result.rSquared.map(mean)
        additivityGapMax = summary.additivityGap.map(\.1)
        scales = result.scales
        mergedGapMean = result.mergedGap.map(mean)
    }
}
