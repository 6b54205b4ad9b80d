import Foundation
import TestSupport
import Testing

/// Cohere's row of the architecture table with task models (scripts/fixtures/make_architecture_fixtures_ln.py:
/// base, task_a, task_b): `eval` at the merge point θ0 + 0.3 τ_a + 0.7 τ_b against transformers 5.23's NLL, and a
/// `sweep` over both task vectors.
@Suite("Cohere: merge point and sweep through the command line")
struct ArchitectureCohereSweepTests {
    @Test("eval at θ0 + 0.3 τ_a + 0.7 τ_b matches transformers (1e-5 relative, same exact matches); sweep runs")
    func mergePointAndSweep() throws {
        let (reference, config, task, directory) = try ArchitectureFixtureCommands.evalSetup(
            "cohere", directoryPrefix: "arch-cohere-sweep")
        #expect(reference.coefficients == [0.3, 0.7])
        let scores = try ArchitectureFixtureCommands.evalScores(config.path, task: task, label: "cohere")
        try ArchitectureFixtureCommands.expectMatches(scores, reference, set: "cohere")
        let output = try ArchitectureFixtureCommands.expectSweepRuns(config, task: task, in: directory, set: "cohere")
        #expect(FileManager.default.fileExists(atPath: output.path))
    }
}
