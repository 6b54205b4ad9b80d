import Foundation
import TestSupport
import Testing

/// `metamerge probe`, `eval` and `sweep` run the mixture-of-experts rows of the architecture table (Mixtral,
/// Qwen3-MoE; refused by name as mixture-of-experts models before), `eval` of a merge point matching transformers'
/// NLL (scripts/fixtures/make_architecture_fixtures_moe.py), and bad expert keys are refused in one line.
@Suite("Mixture-of-experts architectures through the command line")
struct ArchitectureMoeCommandTests {
    @Test("probe along both task vectors", arguments: ["mixtral", "qwen3-moe"])
    func probeRuns(set: String) throws {
        try ArchitectureFixtureCommands.expectProbeRuns(set)
    }

    /// The fixture's models with the bundled family's tokenizer, a task_arithmetic config at the reference's
    /// weights and the reference's task items, in a temporary directory.
    static func evalSetup(_ set: String) throws -> (config: URL, task: URL, directory: URL) {
        let (_, config, task, directory) = try ArchitectureFixtureCommands.evalSetup(set, directoryPrefix: "moe-eval")
        return (config, task, directory)
    }

    @Test(
        "eval of a merge point matches transformers' NLL (1e-5 relative) and exact matches; a sweep runs",
        arguments: ["mixtral", "qwen3-moe"])
    func evalAndSweep(set: String) throws {
        let reference = try ArchitectureFixtureCommands.evalReference(set)
        let (config, task, directory) = try Self.evalSetup(set)
        let scores = try ArchitectureFixtureCommands.evalScores(config.path, task: task, label: set)
        try ArchitectureFixtureCommands.expectMatches(scores, reference, set: set)
        let sweep = try ArchitectureFixtureCommands.expectSweepRuns(config, task: task, in: directory, set: set)
        #expect(FileManager.default.fileExists(atPath: sweep.path))
    }

    @Test("more experts per token than experts: one line naming the key, exit 2, no output")
    func badExpertCountIsRefused() throws {
        let (config, task, directory) = try Self.evalSetup("mixtral")
        for model in ["base", "task_a", "task_b"] {
            let file = directory.appendingPathComponent(model).appendingPathComponent("config.json")
            let text = try String(contentsOf: file, encoding: .utf8)
                .replacingOccurrences(of: "\"num_experts_per_tok\": 2", with: "\"num_experts_per_tok\": 5")
            #expect(text.contains("\"num_experts_per_tok\": 5"))
            try Data(text.utf8).write(to: file)
        }
        let output = directory.appendingPathComponent("sweep.h5")
        let result = try MetaMergeProcess.run([
            "sweep", config.path, "--task", "add=" + task.path, "--scales", "1", "-o", output.path,
        ])
        #expect(result.status == 2, "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
        #expect(result.stderr.contains("num_experts_per_tok (5)"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: output.path))
    }

    @Test("an expert count the weights do not hold (10¹²): one line naming the router, exit 2, no crash")
    func expertCountBeyondTheWeights() throws {
        let (_, _, directory) = try Self.evalSetup("mixtral")
        for model in ["base", "task_a"] {
            let file = directory.appendingPathComponent(model).appendingPathComponent("config.json")
            let text = try String(contentsOf: file, encoding: .utf8)
                .replacingOccurrences(of: "\"num_local_experts\": 4", with: "\"num_local_experts\": 1000000000000")
            #expect(text.contains("1000000000000"))
            try Data(text.utf8).write(to: file)
        }
        let (result, output) = try ArchitectureFixtureCommands.probe(
            base: directory.appendingPathComponent("base"), task: directory.appendingPathComponent("task_a"),
            ids: "1 5 9 8\n", in: directory)
        #expect(result.status == 2, "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
        #expect(result.stderr.contains("model.layers.0.block_sparse_moe.gate.weight is stored as [4, 32]"))
        #expect(!FileManager.default.fileExists(atPath: output.path))
    }

    @Test(
        "merge writes a model whose eval equals eval of the config (NLL within 1e-5 relative, equal counts)",
        arguments: ["mixtral", "qwen3-moe"])
    func mergeThenEval(set: String) throws {
        let (config, task, directory) = try Self.evalSetup(set)
        let merged = directory.appendingPathComponent("merged")
        let merge = try MetaMergeProcess.run(["merge", config.path, merged.path])
        #expect(merge.status == 0, "\(set): \(merge.stderr)")
        func scores(_ target: URL) throws -> [String: Any] {
            try ArchitectureFixtureCommands.evalScores(target.path, task: task, label: set)
        }
        let point = try scores(config)
        let written = try scores(merged)
        let nll = try #require(point["meanNLL"] as? Double)
        let mergedNLL = try #require(written["meanNLL"] as? Double)
        // The merge rounds the weights in its own order: the NLL agrees to 1e-5, not bit for bit.
        #expect(abs(mergedNLL - nll) <= 1e-5 * abs(nll), "\(set): merged \(mergedNLL), point \(nll)")
        #expect(written["correctTokens"] as? Int == point["correctTokens"] as? Int, "\(set)")
        #expect(written["exactMatch"] as? Int == point["exactMatch"] as? Int, "\(set)")
    }
}
