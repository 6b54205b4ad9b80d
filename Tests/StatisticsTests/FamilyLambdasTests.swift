import Checkpoints
import Foundation
import Statistics
import TestSupport
import Testing

/// MetaGPT's λ of a family from its one resolver: a report about these weights, else the norms-only pass.
@Suite("λ of a family: a matching report, else the norms-only pass")
struct FamilyLambdasTests {
    /// The hand-worked family's ‖τ‖²: layer 0 gives 25 and 25, layer 1 gives 1 and 2 — totals 26 and 27, so
    /// λ = (26/53, 27/53).
    static let handWorkedLambdas = [26.0 / 53, 27.0 / 53]

    /// The same weights as ``SyntheticFamily/handWorked()``, under other task names and in the other order.
    static func reordered(_ synthetic: SyntheticFamily) throws -> ModelFamily {
        func model(_ name: String) throws -> Checkpoint {
            try Checkpoint(directory: synthetic.root.appendingPathComponent(name))
        }
        return try ModelFamily(
            base: model("base"),
            tasks: [
                .init(name: "second", checkpoint: try model("two")), .init(name: "first", checkpoint: try model("one")),
            ])
    }

    static func expectRelativelyClose(_ actual: [Double], _ expected: [Double], _ tolerance: Double) {
        #expect(actual.count == expected.count)
        for (a, e) in zip(actual, expected) {
            #expect(abs(a - e) <= tolerance * abs(e), "\(a) vs \(e)")
        }
    }

    @Test func noReportRunsTheNormsPass() throws {
        let synthetic = try SyntheticFamily.handWorked()
        let missing = synthetic.root.appendingPathComponent("no-report.h5")
        let resolved = try FamilyLambdas.resolve(synthetic.family, report: missing, threads: 2)
        #expect(resolved.source == .normsPass)
        Self.expectRelativelyClose(resolved.lambdas, Self.handWorkedLambdas, 1e-15)
        #expect(resolved.squaredNorms == [26, 27])
        #expect(resolved.perTensor["model.layers.1.b.weight"] == [1, 2])
    }

    @Test func aMatchingReportIsReadInTheFamilysTaskOrder() throws {
        let synthetic = try SyntheticFamily.handWorked()
        let url = synthetic.root.appendingPathComponent("report.h5")
        try AnalysisReport.write(try StatisticsPass(threads: 2).run(synthetic.family), to: url)
        let direct = try FamilyLambdas.resolve(synthetic.family, report: url, threads: 2)
        #expect(direct.source == .report(url))
        Self.expectRelativelyClose(direct.lambdas, Self.handWorkedLambdas, 1e-15)
        // Same weights, other names and order: the fingerprints decide, and λ follow the family's order.
        let swapped = try FamilyLambdas.resolve(try Self.reordered(synthetic), report: url, threads: 2)
        #expect(swapped.source == .report(url))
        Self.expectRelativelyClose(swapped.lambdas, Self.handWorkedLambdas.reversed(), 1e-15)
        #expect(swapped.squaredNorms == [27, 26])
        #expect(swapped.perTensor["model.layers.0.a.weight"] == [25, 25])
    }

    /// A stale report: task one's weights were rewritten after the analysis (layer 1's τ doubled, ‖τ‖² 4), so its
    /// fingerprint no longer matches; λ come from the pass over the weights as they are: totals 29 and 27.
    @Test func aStaleReportFallsBackToTheNormsPass() throws {
        let synthetic = try SyntheticFamily.handWorked()
        let url = synthetic.root.appendingPathComponent("report.h5")
        try AnalysisReport.write(try StatisticsPass(threads: 2).run(synthetic.family), to: url)
        let one = synthetic.root.appendingPathComponent("one")
        try FileManager.default.removeItem(at: one)
        try SyntheticFamily.writeModel(
            one, config: ["architectures": ["LlamaForCausalLM"]],
            shapes: ["model.layers.0.a.weight": [2, 3], "model.layers.1.b.weight": [4]],
            values: ["model.layers.0.a.weight": [4, 5, 1, 1, 1, 1], "model.layers.1.b.weight": [3, 1, 1, 1]])
        let family = try ModelFamily(
            base: synthetic.family.base,
            tasks: [.init(name: "one", checkpoint: try Checkpoint(directory: one)), synthetic.family.tasks[1]])
        let match = try ReportMatch.match(try AnalysisReport.read(from: url), to: family)
        #expect(match == .missingTask(name: "one", fingerprint: try family.tasks[0].checkpoint.fingerprint()))
        let resolved = try FamilyLambdas.resolve(family, report: url, threads: 2)
        #expect(resolved.source == .normsPass)
        Self.expectRelativelyClose(resolved.lambdas, [29.0 / 56, 27.0 / 56], 1e-15)
    }

    /// A report of another family (its own base model) is never used.
    @Test func aReportOfAnotherFamilyFallsBackToTheNormsPass() throws {
        let reported = try SyntheticFamily.handWorked()
        let url = reported.root.appendingPathComponent("report.h5")
        try AnalysisReport.write(try StatisticsPass(threads: 2).run(reported.family), to: url)
        // The same task vectors on another base (every weight 2 in layer 0).
        let other = try SyntheticFamily(
            shapes: ["model.layers.0.a.weight": [2, 3], "model.layers.1.b.weight": [4]],
            base: [
                "model.layers.0.a.weight": [Float](repeating: 2, count: 6), "model.layers.1.b.weight": [1, 1, 1, 1],
            ],
            tau: [
                "model.layers.0.a.weight": [[3, 4, 0, 0, 0, 0], [4, -3, 0, 0, 0, 0]],
                "model.layers.1.b.weight": [[1, 0, 0, 0], [1, 1, 0, 0]],
            ],
            taskNames: ["one", "two"])
        guard case .otherBase = try ReportMatch.match(try AnalysisReport.read(from: url), to: other.family) else {
            Issue.record("a report of another base model must not match")
            return
        }
        let resolved = try FamilyLambdas.resolve(other.family, report: url, threads: 2)
        #expect(resolved.source == .normsPass)
        Self.expectRelativelyClose(resolved.lambdas, Self.handWorkedLambdas, 1e-15)
    }

    /// On the bundled tiny family, the norms-only pass and the full statistics pass give the same λ, and both give
    /// NumPy's (Tests/Fixtures/analysis/tiny-family-stats.json, scripts/fixtures).
    @Test func theNormsPassAndTheFullPassAgree() throws {
        let family = try FamilySpec(
            base: RepositoryPaths.tinyFamily.appendingPathComponent("base"),
            tasks: ["add", "rev", "sort"].map { ($0, RepositoryPaths.tinyFamily.appendingPathComponent($0)) }
        ).open()
        let norms = try FamilyLambdas.resolve(family, report: nil, threads: 2)
        #expect(norms.source == .normsPass)
        let full = try StatisticsPass(threads: 2).run(family).metagptLambdas
        Self.expectRelativelyClose(norms.lambdas, full, 1e-15)
        // NumPy's global metagpt_lambda for add, rev, sort (float64 sums; the tolerance covers summation order).
        Self.expectRelativelyClose(norms.lambdas, [0.28562201634672363, 0.19422044978883504, 0.5201575338644414], 1e-12)
    }
}
