import Foundation
import TestSupport
import Testing

/// `metamerge probe`, `eval` and `sweep` run every new architecture of the table (each was refused by name before
/// the table), and an architecture outside it is refused in one line that lists what is supported.
@Suite("The architecture table through the command line")
struct ArchitectureCommandTests {
    static func set(_ name: String) -> URL {
        RepositoryPaths.fixtures.appendingPathComponent("transformer").appendingPathComponent(name)
    }

    @Test(
        "probe along both task vectors of each new architecture",
        arguments: ["llama3-rope", "mistral-window", "qwen2-window", "qwen3", "gemma2", "gemma3"])
    func probeRuns(set: String) throws {
        let directory = try makeTemporaryDirectory("arch-probe")
        let ids = directory.appendingPathComponent("ids.txt")
        // The second prompt is longer than every sliding window of the fixtures (4 or 5).
        try Data("1 5 9 8\n3 1 4 1 5 9 2 6 5 3 5 8\n".utf8).write(to: ids)
        let family = Self.set(set)
        let output = directory.appendingPathComponent("probe.h5")
        let result = try MetaMergeProcess.run([
            "probe", "--base", family.appendingPathComponent("base").path,
            "--model", "a=" + family.appendingPathComponent("task_a").path,
            "--model", "b=" + family.appendingPathComponent("task_b").path,
            "--token-ids", ids.path, "--alphas", "0:1:0.5", "-o", output.path,
        ])
        #expect(result.status == 0, "\(set): \(result.stderr)")
        #expect(FileManager.default.fileExists(atPath: output.path))
    }

    @Test(
        "eval of a merge point and a sweep on each new architecture",
        arguments: ["llama3-rope", "mistral-window", "qwen2-window", "qwen3", "gemma2", "gemma3"])
    func evalAndSweepRun(set: String) throws {
        let directory = try makeTemporaryDirectory("arch-eval")
        // The fixture's models with the bundled family's character-level tokenizer (36 ids, inside every fixture's
        // vocabulary of 64): its task prompts are longer than the fixtures' sliding windows.
        let tokenizer = RepositoryPaths.tinyFamily.appendingPathComponent("base")
        for model in ["base", "task_a", "task_b"] {
            let target = directory.appendingPathComponent(model)
            try FileManager.default.copyItem(at: Self.set(set).appendingPathComponent(model), to: target)
            for file in ["tokenizer.json", "tokenizer_config.json"] {
                try FileManager.default.copyItem(
                    at: tokenizer.appendingPathComponent(file), to: target.appendingPathComponent(file))
            }
        }
        let config = directory.appendingPathComponent("merge.yml")
        let yaml = "merge_method: metagpt\nbase_model: base\nmodels:\n  - model: task_a\n  - model: task_b\n"
        try Data(yaml.utf8).write(to: config)
        let task = "add=" + RepositoryPaths.tinyFamily.appendingPathComponent("tasks/add.jsonl").path
        let eval = try MetaMergeProcess.run(["eval", config.path, "--task", task, "--json"])
        #expect(eval.status == 0, "\(set): \(eval.stderr)")
        #expect(eval.stdout.contains("add"))
        let sweep = try MetaMergeProcess.run([
            "sweep", config.path, "--task", task, "--scales", "0.5:1:0.5", "--weights", "uniform",
            "-o", directory.appendingPathComponent("sweep.h5").path,
        ])
        #expect(sweep.status == 0, "\(set): \(sweep.stderr)")
    }

    @Test("an architecture outside the table: one line naming it and the supported ones, exit 2")
    func unsupportedArchitectureIsNamed() throws {
        let directory = try makeTemporaryDirectory("arch-refused")
        // The qwen3 base and task model relabelled as OLMo 2, a decoder the table does not hold.
        for model in ["base", "task_a"] {
            let source = Self.set("qwen3").appendingPathComponent(model)
            let target = directory.appendingPathComponent(model)
            try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
            try FileManager.default.copyItem(
                at: source.appendingPathComponent("model.safetensors"),
                to: target.appendingPathComponent("model.safetensors"))
            let config = try String(contentsOf: source.appendingPathComponent("config.json"), encoding: .utf8)
                .replacingOccurrences(of: "\"qwen3\"", with: "\"olmo2\"")
                .replacingOccurrences(of: "Qwen3ForCausalLM", with: "Olmo2ForCausalLM")
            try Data(config.utf8).write(to: target.appendingPathComponent("config.json"))
        }
        let base = directory.appendingPathComponent("base")
        let ids = directory.appendingPathComponent("ids.txt")
        try Data("1 5 9 8\n".utf8).write(to: ids)
        let result = try MetaMergeProcess.run([
            "probe", "--base", base.path, "--model", "a=" + directory.appendingPathComponent("task_a").path,
            "--token-ids", ids.path, "-o", directory.appendingPathComponent("probe.h5").path,
        ])
        #expect(result.status == 2)
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
        #expect(result.stderr.contains("Olmo2ForCausalLM"), "\(result.stderr)")
        for supported in ["llama", "mistral", "qwen2", "qwen3", "gemma2", "gemma3_text"] {
            #expect(result.stderr.contains(supported), "\(result.stderr)")
        }
    }
}
