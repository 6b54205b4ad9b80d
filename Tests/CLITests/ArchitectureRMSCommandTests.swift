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
        try ArchitectureFixtureCommands.expectProbeRuns(set)
    }

    @Test(
        "eval of a merge point matches transformers' mean NLL (1e-5 relative) and exact tokens, and a sweep runs",
        arguments: sets)
    func evalAndSweepRun(set: String) throws {
        let (reference, config, task, directory) = try ArchitectureFixtureCommands.evalSetup(
            set, directoryPrefix: "arch-rms-eval")
        let scores = try ArchitectureFixtureCommands.evalScores(config.path, task: task, label: set)
        try ArchitectureFixtureCommands.expectMatches(scores, reference, set: set)
        let sweep = try ArchitectureFixtureCommands.expectSweepRuns(config, task: task, in: directory, set: set)
        #expect(FileManager.default.fileExists(atPath: sweep.path))
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
                at: ArchitectureFixtureCommands.set(bad.set).appendingPathComponent(model), to: target)
            let file = target.appendingPathComponent("config.json")
            var json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as? [String: Any])
            bad.edit(&json)
            try JSONSerialization.data(withJSONObject: json).write(to: file)
        }
        let (result, output) = try ArchitectureFixtureCommands.probe(
            base: directory.appendingPathComponent("base"), task: directory.appendingPathComponent("task_a"),
            ids: "1 5 9 8\n", in: directory)
        #expect(result.status == 2, "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
        #expect(result.stderr.contains(bad.mentions), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: output.path))
    }
}
