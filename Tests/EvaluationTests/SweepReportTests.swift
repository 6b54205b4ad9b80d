import Checkpoints
import Foundation
import HDF5
import TestSupport
import Testing
import Tokenizers

@testable import Evaluation
@testable import Statistics

/// The /sweep group as written, read back; where it may go.
@Suite("Sweep report: /sweep written, read back, and the destination rules")
struct SweepReportTests {
    static let family = RepositoryPaths.tinyFamily

    static func sweep() throws -> SweepResult {
        let names = ["add", "rev", "sort"]
        let modelFamily = try FamilySpec(
            base: family.appendingPathComponent("base"), tasks: names.map { ($0, family.appendingPathComponent($0)) }
        ).open()
        let tokenizer = try Tokenizer(contentsOf: family.appendingPathComponent("base"))
        let tasks = try names.prefix(2).map { name in
            let task = try EvalTask.load(
                name: name, url: family.appendingPathComponent("tasks/\(name).jsonl"), tokenizer: tokenizer,
                vocabularySize: 36, maxLength: 64)
            return EvalTask(name: task.name, url: task.url, items: Array(task.items.prefix(12)))
        }
        let grid = SweepGrid(
            weightings: try SweepGrid.parseWeightings("uniform,1:0:0", taskCount: 3, metagpt: nil), scales: [0.5, 1, 2])
        return try SweepResult.run(
            family: modelFamily.taskNames, engine: try CompletionEvaluator.engine(family: modelFamily), grid: grid,
            tasks: tasks)
    }

    static let provenance = Provenance(toolVersion: "t", createdUTC: "t", commandLine: "t", models: [])

    @Test func writtenAndReadBack() throws {
        let result = try Self.sweep()
        let url = try makeTemporaryDirectory("sweep-report").appendingPathComponent("s.h5")
        try EvaluationReport.write(result, provenance: Self.provenance, to: url)
        let file = try HDF5File.open(at: url)
        defer { try? file.close() }
        let sweep = try file.root.group("sweep")
        #expect(try sweep.dataset("weightings").readStrings() == ["uniform", "1:0:0"])
        #expect(try sweep.dataset("tasks").readStrings() == ["add", "rev"])
        let exact = try sweep.dataset("exact_match").read(Int64.self)
        #expect(exact.shape == [2, 3, 2])
        #expect(exact.values == result.metrics.flatMap { $0.flatMap { $0.map { Int64($0.exactMatch) } } })
        let nll = try sweep.dataset("mean_nll").read(Double.self)
        #expect(nll.values == result.metrics.flatMap { $0.flatMap { $0.map(\.meanNLL) } })
        let c = try sweep.dataset("coefficients").read(Float.self)
        #expect(c.shape == [2, 3, 3])
        // weighting 1:0:0 at s = 2 is c = (2, 0, 0).
        #expect(Array(c.values[15..<18]) == [2, 0, 0])
    }

    @Test func destinations() throws {
        let result = try Self.sweep()
        let directory = try makeTemporaryDirectory("sweep-destination")
        // A sweep-only report is replaced.
        let alone = directory.appendingPathComponent("alone.h5")
        try EvaluationReport.write(result, provenance: Self.provenance, to: alone)
        try EvaluationReport.write(result, provenance: Self.provenance, to: alone)
        // Beside a probe: /probe kept, /sweep added; a second sweep there is refused (HDF5 cannot drop a group).
        let probed = directory.appendingPathComponent("probed.h5")
        let probe = ProbeResult(
            taskNames: ["a"], pairNames: [], alphas: [0, 1], prompts: [[1, 2]], chordResidual: [[0.1]],
            taylorError: [[0.1]], taylorStep: 0.01, rSquared: [[1]], additivityGap: [], scales: [1], lambdas: [1],
            mergedGap: [[0.2]], curves: [[[0], [1]]], curveCoordinates: [[3]])
        try ProbeReport.write(probe, provenance: Self.provenance, to: probed)
        try EvaluationReport.write(result, provenance: Self.provenance, to: probed)
        let file = try HDF5File.open(at: probed)
        #expect(try file.root.exists("probe"))
        #expect(try file.root.exists("sweep"))
        try file.close()
        #expect(throws: AnalysisError.self) {
            try EvaluationReport.write(result, provenance: Self.provenance, to: probed)
        }
    }
}
