import Foundation
import TestSupport
import Testing

/// `metamerge probe`, `eval` and `sweep` run every new architecture of the table (each was refused by name before
/// the table), and an architecture outside it is refused in one line that lists what is supported.
@Suite("The architecture table through the command line")
struct ArchitectureCommandTests {
    @Test(
        "probe along both task vectors of each new architecture",
        arguments: ["llama3-rope", "mistral-window", "qwen2-window", "qwen3", "gemma2", "gemma3"])
    func probeRuns(set: String) throws {
        try ArchitectureFixtureCommands.expectProbeRuns(set)
    }

    @Test(
        "eval of a merge point matches transformers' NLL, and a sweep runs, on each new architecture",
        arguments: ["llama3-rope", "mistral-window", "qwen2-window", "qwen3", "gemma2", "gemma3"])
    func evalAndSweepRun(set: String) throws {
        // The fixture's models with the bundled family's character-level tokenizer: its task prompts are longer than
        // the fixtures' sliding windows.
        let (reference, config, task, directory) = try ArchitectureFixtureCommands.evalSetup(
            set, directoryPrefix: "arch-eval")
        let scores = try ArchitectureFixtureCommands.evalScores(config.path, task: task, label: set)
        try ArchitectureFixtureCommands.expectMatches(scores, reference, set: set)
        try ArchitectureFixtureCommands.expectSweepRuns(config, task: task, in: directory, set: set)
    }

    @Test("an architecture outside the table: one line naming it and the supported ones, exit 2")
    func unsupportedArchitectureIsNamed() throws {
        let directory = try makeTemporaryDirectory("arch-refused")
        // The qwen3 base and task model relabelled as Falcon, a decoder the table does not hold.
        for model in ["base", "task_a"] {
            let source = ArchitectureFixtureCommands.set("qwen3").appendingPathComponent(model)
            let target = directory.appendingPathComponent(model)
            try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
            try FileManager.default.copyItem(
                at: source.appendingPathComponent("model.safetensors"),
                to: target.appendingPathComponent("model.safetensors"))
            let config = try String(contentsOf: source.appendingPathComponent("config.json"), encoding: .utf8)
                .replacingOccurrences(of: "\"qwen3\"", with: "\"falcon\"")
                .replacingOccurrences(of: "Qwen3ForCausalLM", with: "FalconForCausalLM")
            try Data(config.utf8).write(to: target.appendingPathComponent("config.json"))
        }
        let (result, _) = try ArchitectureFixtureCommands.probe(
            base: directory.appendingPathComponent("base"), task: directory.appendingPathComponent("task_a"),
            ids: "1 5 9 8\n", in: directory)
        #expect(result.status == 2)
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
        #expect(result.stderr.contains("FalconForCausalLM"), "\(result.stderr)")
        for supported in ["llama", "mistral", "qwen2", "qwen3", "gemma2", "gemma3_text"] {
            #expect(result.stderr.contains(supported), "\(result.stderr)")
        }
    }
}
