import Foundation
import HDF5
import Statistics
import TestSupport
import Testing

@Suite("The HDF5 analysis report")
struct AnalysisReportTests {
    @Test func roundTripIsExact() throws {
        let synthetic = try SyntheticFamily.handWorked()
        let statistics = try StatisticsPass().run(synthetic.family, commandLine: "metamerge analyze λ τ")
        let url = synthetic.root.appendingPathComponent("report.h5")
        try AnalysisReport.write(statistics, to: url)
        let back = try AnalysisReport.read(from: url)
        #expect(back.taskNames == statistics.taskNames)
        #expect(back.tensors == statistics.tensors)
        #expect(back.problems == statistics.problems)
        #expect(back.provenance == statistics.provenance)
        #expect(back.metagptLambdas == statistics.metagptLambdas)
        // Nothing but the report is left beside it (the temporary sibling was renamed).
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: synthetic.root.path).filter { $0.hasPrefix(".") }
                .isEmpty)
    }

    @Test func derivedFiguresAreStoredForPlotting() throws {
        let synthetic = try SyntheticFamily.handWorked()
        let url = synthetic.root.appendingPathComponent("report.h5")
        try AnalysisReport.write(try StatisticsPass().run(synthetic.family), to: url)
        let file = try HDF5File.open(at: url)
        #expect(try file.root.attribute("schema_version", as: Int64.self) == 1)
        let cosine = try file.root.group("global").dataset("cosine").read(Double.self)
        #expect(cosine.shape == [2, 2])
        #expect(abs(cosine.values[1] - 1 / (26.0 * 27).squareRoot()) < 1e-15)
        let layers = try file.root.group("layers")
        #expect(try layers.dataset("label").readStrings() == ["layers.0", "layers.1"])
        #expect(try layers.dataset("layer_index").read(Int64.self).values == [0, 1])
        #expect(try layers.dataset("cosine").read(Double.self).shape == [2, 2, 2])
    }

    @Test func foreignTruncatedAndNewerFilesAreRefused() throws {
        let directory = try makeTemporaryDirectory("report")
        let text = directory.appendingPathComponent("text.h5")
        try Data("not hdf5".utf8).write(to: text)
        #expect(throws: AnalysisError.self) { try AnalysisReport.read(from: text) }

        let foreign = directory.appendingPathComponent("foreign.h5")
        let file = try HDF5File.create(at: foreign)
        try file.root.createDataset("x", values: [1.0, 2.0])
        try file.close()
        let foreignError = try #require(throws: AnalysisError.self) { try AnalysisReport.read(from: foreign) }
        #expect("\(foreignError)".contains("not a MetaMerge report"))

        let synthetic = try SyntheticFamily.handWorked()
        let good = directory.appendingPathComponent("good.h5")
        try AnalysisReport.write(try StatisticsPass().run(synthetic.family), to: good)
        let data = try Data(contentsOf: good)
        let truncated = directory.appendingPathComponent("truncated.h5")
        try data.prefix(data.count / 2).write(to: truncated)
        #expect(throws: AnalysisError.self) { try AnalysisReport.read(from: truncated) }

        let newer = try HDF5File.open(at: good, mode: .readWrite)
        try newer.root.setAttribute("schema_version", Int64(99))
        try newer.close()
        #expect(throws: AnalysisError.newerSchema(path: good.path, found: 99, supported: 1)) {
            try AnalysisReport.read(from: good)
        }
        #expect(throws: AnalysisError.self) {
            try AnalysisReport.read(from: directory.appendingPathComponent("missing.h5"))
        }
    }
}

@Suite("Damaged reports")
struct DamagedReportTests {
    /// Copies the report at `source` to `destination` dataset by dataset, with `replacements` (path → strings) written
    /// instead of the stored values: a report whose datasets disagree, as a damaged or hand-edited file can.
    static func copy(_ source: URL, to destination: URL, replacing replacements: [String: [String]]) throws {
        let input = try HDF5File.open(at: source)
        let output = try HDF5File.create(at: destination)
        for name in try input.root.attributeNames() {
            try output.root.setAttribute(name, try input.root.attribute(name))
        }
        func copyMembers(of group: HDF5Group, into target: HDF5Group) throws {
            for name in try group.memberNames() {
                if try group.kind(of: name) == .group {
                    try copyMembers(of: try group.group(name), into: try target.createGroup(name))
                    continue
                }
                let dataset = try group.dataset(name)
                let type = try dataset.elementType
                switch type {
                case .string:
                    try target.createDataset(name, strings: replacements[dataset.path] ?? (try dataset.readStrings()))
                case .float64: try target.createDataset(name, array: try dataset.read(Double.self))
                case .int64: try target.createDataset(name, array: try dataset.read(Int64.self))
                case .uint8: try target.createDataset(name, array: try dataset.read(UInt8.self))
                default: Issue.record("unexpected element type \(type) of \(dataset.path)")
                }
            }
        }
        try copyMembers(of: input.root, into: output.root)
        try output.close()
        try input.close()
    }

    /// Found by fuzzing (hdf5-report-schema): fewer paths than roles indexed past the end of `path` (a trap).
    @Test func provenanceCountsThatDisagreeAreRefused() throws {
        let synthetic = try SyntheticFamily.handWorked()
        let good = synthetic.root.appendingPathComponent("good.h5")
        try AnalysisReport.write(try StatisticsPass().run(synthetic.family), to: good)
        let damaged = synthetic.root.appendingPathComponent("damaged.h5")
        try Self.copy(good, to: damaged, replacing: ["/provenance/path": ["only-one"]])
        _ = try AnalysisReport.read(from: good)
        let error = try #require(throws: AnalysisError.self) { try AnalysisReport.read(from: damaged) }
        #expect("\(error)".contains("/provenance datasets disagree on the model count (role 3, path 1, fingerprint 3)"))
    }
}

@Suite("The gate")
struct GateTests {
    @Test func globalLayerAndTensorScopes() throws {
        let statistics = try StatisticsPass().run(try SyntheticFamily.handWorked().family)
        // Global |cos| = 1/√702 ≈ 0.0377; layer 1's is 1/√2.
        let global = try Gate.evaluate(GateThresholds(maxCosine: 0.05), statistics: statistics)
        #expect(global.passed)
        let layer = try Gate.evaluate(GateThresholds(maxCosine: 0.05, scope: .layer), statistics: statistics)
        #expect(!layer.passed)
        #expect(layer.violations.map(\.location) == ["layers.1"])
        #expect(abs(layer.violations[0].value - 1 / 2.0.squareRoot()) < 1e-15)
        let tensor = try Gate.evaluate(GateThresholds(maxCosine: 0.8, scope: .tensor), statistics: statistics)
        #expect(tensor.passed)
        let tight = try Gate.evaluate(GateThresholds(maxCosine: 0.01), statistics: statistics)
        #expect(!tight.passed)
    }

    @Test func thresholdsParse() throws {
        let thresholds = try GateThresholds(parsing: "max-cosine=0.1,scope=layer,max_chord_residual=0.2")
        #expect(thresholds == GateThresholds(maxCosine: 0.1, scope: .layer, maxChordResidual: 0.2))
        #expect(throws: AnalysisError.self) { try GateThresholds(parsing: "max-cos=0.1") }
        #expect(throws: AnalysisError.self) { try GateThresholds(parsing: "max-cosine=abc") }
        #expect(throws: AnalysisError.self) { try GateThresholds(parsing: "scope=model") }
    }

    @Test func linearityThresholdsNeedAProbe() throws {
        let statistics = try StatisticsPass().run(try SyntheticFamily.handWorked().family)
        #expect(throws: AnalysisError.self) {
            try Gate.evaluate(GateThresholds(maxChordResidual: 0.1), statistics: statistics)
        }
        let linearity = LinearitySummary(
            chordResidual: [("one", 0.05), ("two", 0.3)], taylorError: [], additivityGap: [("one · two", 0.01)])
        let verdict = try Gate.evaluate(
            GateThresholds(maxChordResidual: 0.1, maxAdditivityGap: 0.1), statistics: statistics, linearity: linearity)
        #expect(!verdict.passed)
        #expect(verdict.violations.map(\.tasks) == ["two"])
    }
}

@Suite("Damaged reports found by fuzzing")
struct FuzzFindingTests {
    /// A report whose string dataset declares ~2³⁸ elements once made the reader ask for 2 TiB and abort; it is
    /// now one error before any allocation.
    @Test func aHugeDeclaredExtentIsRefusedBeforeAllocating() throws {
        let url = RepositoryPaths.root.appendingPathComponent("Tests/Fuzz/findings/hdf5-report-huge-string-extent.h5")
        #expect(throws: (any Error).self) { try AnalysisReport.read(from: url) }
        #expect(throws: (any Error).self) { try ProbeReport.readSummary(from: url) }
    }
}
