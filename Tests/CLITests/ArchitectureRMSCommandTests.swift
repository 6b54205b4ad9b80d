import Foundation
import TestSupport
import Testing

/// `metamerge probe`, `eval` (mean NLL at a merge point against transformers') and `sweep` on the architectures of
/// the arch-rms rows (Granite, OLMo 2, Phi-3), each refused by name before; the steps are those of
/// ``ArchitectureCommandTests`` on the sets of scripts/fixtures/make_architecture_fixtures_rms.py.
@Suite("The arch-rms rows of the architecture table through the command line")
struct ArchitectureRMSCommandTests {
    static let sets = ["granite", "olmo2", "phi3"]

    @Test("probe along both task vectors", arguments: sets)
    func probeRuns(set: String) throws {
        try ArchitectureCommandTests().probeRuns(set: set)
    }

    @Test(
        "eval of a merge point matches transformers' mean NLL (1e-5 relative) and exact tokens, and a sweep runs",
        arguments: sets)
    func evalAndSweepRun(set: String) throws {
        let reference = try ArchitectureCommandTests.evalReference(set)
        let directory = try makeTemporaryDirectory("arch-rms-eval")
        // The fixture's models with the bundled family's character-level tokenizer (36 ids, inside the vocabulary
        // of 64).
        let tokenizer = RepositoryPaths.tinyFamily.appendingPathComponent("base")
        for model in ["base", "task_a", "task_b"] {
            let target = directory.appendingPathComponent(model)
            try FileManager.default.copyItem(
                at: ArchitectureCommandTests.set(set).appendingPathComponent(model), to: target)
            for file in ["tokenizer.json", "tokenizer_config.json"] {
                try FileManager.default.copyItem(
                    at: tokenizer.appendingPathComponent(file), to: target.appendingPathComponent(file))
            }
        }
        let config = directory.appendingPathComponent("merge.yml")
        let weights = reference.coefficients
        let yaml = """
            merge_method: task_arithmetic
            base_model: base
            models:
              - model: task_a
                parameters:
                  weight: \(weights[0])
              - model: task_b
                parameters:
                  weight: \(weights[1])

            """
        try Data(yaml.utf8).write(to: config)
        let lines = try String(
            contentsOf: RepositoryPaths.root.appendingPathComponent(reference.taskFile), encoding: .utf8
        ).split(separator: "\n").prefix(reference.items)
        let taskFile = directory.appendingPathComponent("add.jsonl")
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: taskFile)
        let eval = try MetaMergeProcess.run(["eval", config.path, "--task", "add=" + taskFile.path, "--json"])
        #expect(eval.status == 0, "\(set): \(eval.stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(eval.stdout.utf8)) as? [String: Any]
        let task = try #require((report?["tasks"] as? [[String: Any]])?.first)
        let nll = try #require(task["meanNLL"] as? Double)
        #expect(
            abs(nll - reference.meanNll) <= 1e-5 * abs(reference.meanNll),
            "\(set): mean NLL \(nll), transformers \(reference.meanNll)")
        #expect(task["correctTokens"] as? Int == reference.correctTokens, "\(set)")
        #expect(task["completionTokens"] as? Int == reference.completionTokens, "\(set)")
        let sweep = try MetaMergeProcess.run([
            "sweep", config.path, "--task", "add=" + taskFile.path, "--scales", "0.5:1:0.5", "--weights", "uniform",
            "-o", directory.appendingPathComponent("sweep.h5").path,
        ])
        #expect(sweep.status == 0, "\(set): \(sweep.stderr)")
        #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("sweep.h5").path))
    }

    /// A config.json key of the new rows that the forward pass cannot use, written into the base and task model.
    struct BadKey: Sendable, CustomTestStringConvertible {
        let set: String
        let edit: @Sendable (inout [String: Any]) -> Void
        let mentions: String
        var testDescription: String { "\(set): \(mentions)" }
    }

    static let badKeys: [BadKey] = [
        BadKey(
            set: "phi3",
            edit: { json in
                var rope = json["rope_parameters"] as? [String: Any] ?? [:]
                rope["long_factor"] = [1.5, 4.0]
                json["rope_parameters"] = rope
            }, mentions: "rope_parameters.long_factor has 2 entries; expected 3"),
        BadKey(
            set: "phi3",
            edit: { json in
                json["partial_rotary_factor"] = 2.0
                json["rope_parameters"] = nil
            }, mentions: "partial_rotary_factor"),
        BadKey(set: "granite", edit: { $0["logits_scaling"] = 0 }, mentions: "logits_scaling is 0"),
        BadKey(set: "olmo2", edit: { $0["rope_parameters"] = ["rope_type": "longrope"] }, mentions: "longrope"),
    ]

    @Test(
        "a key of the new rows the forward pass cannot use: one line naming it, exit 2, no output", arguments: badKeys)
    func badKeyRefused(_ bad: BadKey) throws {
        let directory = try makeTemporaryDirectory("arch-rms-bad")
        for model in ["base", "task_a"] {
            let target = directory.appendingPathComponent(model)
            try FileManager.default.copyItem(
                at: ArchitectureCommandTests.set(bad.set).appendingPathComponent(model), to: target)
            let file = target.appendingPathComponent("config.json")
            var json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as? [String: Any])
            bad.edit(&json)
            try JSONSerialization.data(withJSONObject: json).write(to: file)
        }
        let ids = directory.appendingPathComponent("ids.txt")
        try Data("1 5 9 8\n".utf8).write(to: ids)
        let output = directory.appendingPathComponent("probe.h5")
        let result = try MetaMergeProcess.run([
            "probe", "--base", directory.appendingPathComponent("base").path,
            "--model", "a=" + directory.appendingPathComponent("task_a").path, "--token-ids", ids.path,
            "-o", output.path,
        ])
        #expect(result.status == 2, "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
        #expect(result.stderr.contains(bad.mentions), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: output.path))
    }
}
