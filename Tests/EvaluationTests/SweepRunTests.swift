import Checkpoints
import Evaluation
import Foundation
import HDF5
import TestSupport
import Testing

/// "Run this sweep" as a library call.
@Suite("SweepRun: a sweep as a library call")
struct SweepRunTests {
    /// With λ given, no pass runs and the metagpt weighting is λ itself; at s = 0 every point is the base, so every
    /// weighting scores the same. The report holds /sweep.
    @Test func aSweepWithKnownLambdasWritesItsReport() throws {
        let family = try BundledFamily.open()
        let report = try makeTemporaryDirectory("sweep-run").appendingPathComponent("sweep.h5")
        let task = RepositoryPaths.tinyFamily.appendingPathComponent("tasks/add.jsonl").path
        var sweep = SweepRun(
            family: family, tasks: ["add=\(task)"], scales: [0, 1], weights: "uniform,metagpt", report: report)
        sweep.lambdas = [0.25, 0.75]
        var notes: [String] = []
        let result = try sweep.run(info: { notes.append($0) })
        #expect(result.grid.weightings.map(\.name) == ["uniform", "metagpt"])
        #expect(result.grid.weightings[1].weights == [0.25, 0.75])
        #expect(result.metrics[0][0] == result.metrics[1][0])
        #expect(!notes.contains { $0.hasPrefix("MetaGPT λ read from") })
        let file = try HDF5File.open(at: report)
        defer { try? file.close() }
        #expect(try file.root.exists("sweep"))
    }
}
