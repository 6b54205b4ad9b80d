import Checkpoints
import Evaluation
import Foundation
import HDF5
import Statistics
import TestSupport
import Testing

/// "Probe this family" as a library call.
@Suite("ProbeRun: a probe as a library call")
struct ProbeRunTests {
    /// Into an analysis report of these weights: λ are the report's (no pass), and /probe is added beside /tensors.
    @Test func aProbeIntoAnAnalysisReportUsesItsLambdas() throws {
        let family = try BundledFamily.open()
        let report = try makeTemporaryDirectory("probe-run").appendingPathComponent("report.h5")
        let statistics = try StatisticsPass(threads: 2).run(family)
        try AnalysisReport.write(statistics, to: report)
        var fromReport = false
        let result = try ProbeRun(
            family: family, source: .random(count: 1, length: 4, seed: 0),
            probe: LinearityProbe(alphas: [0, 0.5, 1], scales: [1]), report: report
        ).run(lambdasFromReport: { fromReport = true })
        #expect(fromReport)
        #expect(result.lambdas == statistics.metagptLambdas)
        let file = try HDF5File.open(at: report)
        defer { try? file.close() }
        #expect(try file.root.exists("probe"))
        #expect(try file.root.exists("tensors"))
    }
}
