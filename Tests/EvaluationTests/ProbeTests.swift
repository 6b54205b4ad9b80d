import Checkpoints
import Evaluation
import Foundation
import HDF5
import Statistics
import TestSupport
import Testing
import Tokenizers

@Suite("The NTK-linearity probe on cases with known answers")
struct ProbeTests {
    static let prompts = [[1, 5, 9, 2], [3, 3, 7, 11, 20, 4]]

    /// Logits are exactly linear in an untied lm_head: moving only lm_head gives chord residual, Taylor error and
    /// additivity gap at Float32 rounding, and R² of 1.
    @Test func onlyLmHeadChangedIsLinear() throws {
        let family = try TinyLlamaFamily.make(perturbed: [["lm_head"], ["lm_head"]], scale: 0.3)
        let result = try LinearityProbe(alphas: [0, 0.25, 0.5, 0.75, 1]).run(
            family, prompts: Self.prompts, lambdas: [0.5, 0.5])
        for row in result.chordResidual { for value in row { #expect(value < 1e-5) } }
        for row in result.taylorError { for value in row { #expect(value < 1e-4) } }
        for row in result.additivityGap { for value in row { #expect(value < 1e-5) } }
        for row in result.mergedGap { for value in row { #expect(value < 1e-5) } }
        for row in result.rSquared { for value in row { #expect(value > 0.999_999) } }
        #expect(result.pairNames == ["task0 · task1"])
        #expect(result.curves.count == 2 && result.curves[0].count == 5 && result.curves[0][0].count == 8)
    }

    /// A large perturbation of every weight before the output is far from linear.
    @Test func largePerturbationIsNonLinear() throws {
        let family = try TinyLlamaFamily.make(perturbed: [["layers", "embed"], ["layers", "embed"]], scale: 1.5)
        let result = try LinearityProbe(alphas: [0, 0.25, 0.5, 0.75, 1]).run(
            family, prompts: Self.prompts, lambdas: [0.5, 0.5])
        #expect(result.chordResidual.flatMap { $0 }.max()! > 0.1)
        #expect(result.taylorError.flatMap { $0 }.max()! > 0.1)
        #expect(result.additivityGap.flatMap { $0 }.max()! > 0.1)
    }

    /// A tiny perturbation is nearly linear (the NTK regime), and much closer than the large one.
    @Test func smallPerturbationIsNearlyLinear() throws {
        let family = try TinyLlamaFamily.make(perturbed: [["layers"], ["layers"]], scale: 0.001)
        let result = try LinearityProbe(alphas: [0, 0.5, 1]).run(family, prompts: Self.prompts, lambdas: [0.5, 0.5])
        #expect(result.chordResidual.flatMap { $0 }.max()! < 0.01)
        #expect(result.additivityGap.flatMap { $0 }.max()! < 0.01)
    }

    @Test func reportRoundTripAndGate() throws {
        let family = try TinyLlamaFamily.make(perturbed: [["lm_head"], ["layers.1"]], scale: 0.3)
        let result = try LinearityProbe(alphas: [0, 0.5, 1], scales: [1, 2]).run(
            family, prompts: Self.prompts, lambdas: [0.4, 0.6])
        let directory = try makeTemporaryDirectory("probe")
        let url = directory.appendingPathComponent("probe.h5")
        let provenance = Provenance(toolVersion: "test", createdUTC: "now", commandLine: "probe", models: [])
        try ProbeReport.write(result, provenance: provenance, to: url)
        let summary = try ProbeReport.readSummary(from: url)
        #expect(summary == result.summary)
        let file = try HDF5File.open(at: url)
        #expect(try file.root.group("probe").dataset("merged_gap").read(Double.self).shape == [2, 2])
        #expect(try file.root.group("probe").dataset("curves").read(Float.self).shape == [2, 3, 8])
        try file.close()
        // Written a second time into the same file: the group is replaced, not duplicated.
        try ProbeReport.write(result, provenance: provenance, to: url)
        #expect(try ProbeReport.readSummary(from: url) == result.summary)

        // Adding the probe to an analysis report keeps the analysis readable.
        let analysisURL = directory.appendingPathComponent("report.h5")
        try AnalysisReport.write(try StatisticsPass().run(family), to: analysisURL)
        try ProbeReport.write(result, provenance: provenance, to: analysisURL)
        #expect(try AnalysisReport.read(from: analysisURL).taskNames == ["task0", "task1"])
        #expect(try ProbeReport.readSummary(from: analysisURL) == result.summary)
        #expect(throws: AnalysisError.self) {
            try ProbeReport.readSummary(from: directory.appendingPathComponent("none.h5"))
        }
    }

    @Test(arguments: [
        ("0:1:0.25", [0, 0.25, 0.5, 0.75, 1.0]), ("0,0.5,1", [0, 0.5, 1]), ("0:1:0.3", [0, 0.3, 0.6, 0.9, 1]),
        ("0:1:0.001", (0...1000).map { Double($0) / 1000 }),
    ])
    func grids(text: String, expected: [Double]) throws {
        #expect(try LinearityProbe.parseGrid(text) == expected)
    }

    /// Refused before anything is allocated: `0:1:1e-9` would be 10⁹ points.
    @Test(arguments: [
        "0:1:1e-9", "0:1:0.0009", "0:1:-0.1", "0:1:0", "1:0:0.1", "0:inf:0.1", "nan:1:0.1", "0:1:nan", "nan,1", "0,inf",
        "0:1", "a,b", "", "0:1:0.1:2", (0...1001).map(String.init).joined(separator: ","),
    ])
    func badGridsAreRefused(text: String) {
        #expect(throws: AnalysisError.self) { try LinearityProbe.parseGrid(text) }
    }

    /// A task model identical to the base changes nothing: its ratios have a zero denominator and are NaN, and the
    /// summary the gate reads keeps the NaN (it never becomes 0, a pass).
    @Test func unchangedTaskGivesNaN() throws {
        let family = try TinyLlamaFamily.make(perturbed: [[], ["lm_head"]], scale: 0.3)
        let result = try LinearityProbe(alphas: [0, 0.5, 1], scales: [1]).run(
            family, prompts: Self.prompts, lambdas: [0.5, 0.5])
        #expect(result.chordResidual[0].allSatisfy { $0.isNaN })
        #expect(result.taylorError[0].allSatisfy { $0.isNaN })
        #expect(result.chordResidual[1].allSatisfy { $0 < 1e-5 })
        #expect(result.summary.chordResidual[0].1.isNaN)
        #expect(result.summary.taylorError[0].1.isNaN)
        #expect(result.summary.chordResidual[1].1 < 1e-5)
    }

    /// The memory a run needs is estimated from its sizes and a run over the limit is refused up front, naming
    /// the estimate and the limit; a limit between one and all points runs in several lockstep groups with the
    /// same results.
    @Test func memoryIsBoundedBeforeAllocation() throws {
        let family = try TinyLlamaFamily.make(perturbed: [["layers"], ["layers", "lm_head"]], scale: 0.05)
        var probe = LinearityProbe(alphas: [0, 0.5, 1], scales: [1, 2])
        let all = try probe.run(family, prompts: Self.prompts, lambdas: [0.5, 0.5])
        let needed = try probe.estimatedPeakBytes(family: family, prompts: Self.prompts, lambdas: [0.5, 0.5])
        probe.memoryLimit = needed - 1  // not all points at once: several lockstep groups
        let grouped = try probe.run(family, prompts: Self.prompts, lambdas: [0.5, 0.5])
        #expect(grouped.chordResidual == all.chordResidual)
        #expect(grouped.additivityGap == all.additivityGap)
        #expect(grouped.mergedGap == all.mergedGap)
        probe.memoryLimit = 1000
        let error = try #require(throws: AnalysisError.self) {
            try probe.run(family, prompts: Self.prompts, lambdas: [0.5, 0.5])
        }
        #expect("\(error)".contains("limit is 0.00 GB") && "\(error)".contains("points"))
        let badAlpha = LinearityProbe(alphas: [0, .nan, 1])
        #expect(throws: AnalysisError.self) { try badAlpha.run(family, prompts: Self.prompts, lambdas: [0.5, 0.5]) }
    }
}

@Suite("Prompts for the probe")
struct PromptTests {
    struct Encoding: Decodable {
        let text: String
        let ids: [Int]
    }

    /// The bundled tokenizer.json encodes as the `tokenizers` library does (scripts/fixtures/tokenizer_reference.py).
    @Test func wordLevelMatchesTokenizers() throws {
        let data = try Data(
            contentsOf: RepositoryPaths.fixtures.appendingPathComponent("analysis/tokenizer-reference.json"))
        let tokenizer = try Tokenizer(contentsOf: RepositoryPaths.tinyFamily.appendingPathComponent("base"))
        for encoding in try JSONDecoder().decode([Encoding].self, from: data) {
            #expect(try tokenizer.encode(encoding.text).ids == encoding.ids, "\(encoding.text)")
        }
        #expect(try tokenizer.encode("Z").ids == [3])  // unk_token, as tokenizers does
    }

    @Test func badPromptsAreRefused() throws {
        let checkpoint = try Checkpoint(directory: RepositoryPaths.tinyFamily.appendingPathComponent("base"))
        let directory = try makeTemporaryDirectory("prompts")
        let ids = directory.appendingPathComponent("ids.txt")
        try Data("1 2 3\n4 99\n".utf8).write(to: ids)
        let outOfRange = try #require(throws: AnalysisError.self) {
            try PromptSource.tokenIDs(ids).prompts(for: checkpoint, vocabularySize: 36, maxLength: 64)
        }
        #expect("\(outOfRange)".contains("token id 99"))
        try Data((0..<65).map { _ in "1" }.joined(separator: " ").utf8).write(to: ids)
        let tooLong = try #require(throws: AnalysisError.self) {
            try PromptSource.tokenIDs(ids).prompts(for: checkpoint, vocabularySize: 36, maxLength: 64)
        }
        #expect("\(tooLong)".contains("max_position_embeddings"))
        try Data("1 x 3\n".utf8).write(to: ids)
        #expect(throws: AnalysisError.self) {
            try PromptSource.tokenIDs(ids).prompts(for: checkpoint, vocabularySize: 36, maxLength: 64)
        }
        let random = try PromptSource.random(count: 3, length: 5, seed: 7).prompts(
            for: checkpoint, vocabularySize: 36, maxLength: 64)
        #expect(random.count == 3 && random.allSatisfy { $0.count == 5 && $0.allSatisfy { (0..<36).contains($0) } })
        #expect(
            try PromptSource.random(count: 3, length: 5, seed: 7).prompts(
                for: checkpoint, vocabularySize: 36, maxLength: 64) == random)
    }
}
