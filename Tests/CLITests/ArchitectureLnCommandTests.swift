import Foundation
import TestSupport
import Testing

/// `metamerge probe`, `eval` and `sweep` on the LayerNorm rows of the table (arch-ln: GPT-NeoX, StableLM, GPT-2,
/// Cohere), each refused by name before; eval matches transformers' teacher-forced NLL
/// (scripts/fixtures/make_architecture_fixtures_ln.py). The GPT-2 set has one task model, the others two; a set
/// without any would be probed along its base's own (zero) task vector and evaluated as a directory.
@Suite("The LayerNorm rows of the architecture table through the command line")
struct ArchitectureLnCommandTests {
    static let sets = ["gpt-neox", "stablelm", "gpt2", "cohere"]

    /// The set's task models (task_a, task_b when present).
    static func tasks(_ set: String) -> [String] {
        ["task_a", "task_b"].filter {
            let directory = ArchitectureFixtureCommands.set(set).appendingPathComponent($0)
            return FileManager.default.fileExists(atPath: directory.appendingPathComponent("config.json").path)
        }
    }

    /// `--model name=path` for each task model; the base itself when the set has none.
    static func taskArguments(_ set: String) -> [String] {
        let family = ArchitectureFixtureCommands.set(set)
        let tasks = Self.tasks(set)
        if tasks.isEmpty { return ["--model", "self=" + family.appendingPathComponent("base").path] }
        return tasks.flatMap { ["--model", "\($0)=" + family.appendingPathComponent($0).path] }
    }

    @Test("probe along every task vector", arguments: sets)
    func probeRuns(set: String) throws {
        try ArchitectureFixtureCommands.expectProbeRuns(
            set, models: Self.taskArguments(set), directoryPrefix: "arch-ln-probe")
    }

    @Test("eval matches transformers' NLL (1e-5 relative, same exact matches); a sweep runs", arguments: sets)
    func evalAndSweepRun(set: String) throws {
        let (reference, config, task, directory) = try ArchitectureFixtureCommands.evalSetup(
            set, tasks: Self.tasks(set), directoryPrefix: "arch-ln-eval")
        // No task models: the base directory itself.
        let evaluated = Self.tasks(set).isEmpty ? directory.appendingPathComponent("base").path : config.path
        let scores = try ArchitectureFixtureCommands.evalScores(evaluated, task: task, label: set)
        try ArchitectureFixtureCommands.expectMatches(scores, reference, set: set)
        guard !Self.tasks(set).isEmpty else { return }
        try ArchitectureFixtureCommands.expectSweepRuns(config, task: task, in: directory, set: set)
    }

    @Test("GPT-2: a prompt longer than n_positions (its learned positions) is one line naming the line, exit 2")
    func gpt2PromptBeyondPositions() throws {
        let directory = try makeTemporaryDirectory("arch-ln-long")
        let family = ArchitectureFixtureCommands.set("gpt2")
        let (result, output) = try ArchitectureFixtureCommands.probe(
            base: family.appendingPathComponent("base"), task: family.appendingPathComponent("task_a"),
            ids: Array(repeating: "1", count: 25).joined(separator: " ") + "\n", in: directory)
        #expect(result.status == 2)
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
        #expect(result.stderr.contains("25 tokens") && result.stderr.contains("24"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: output.path))
    }

    @Test("GPT-NeoX: weights that do not match config.json are one line naming the tensor and shapes, exit 2")
    func neoxShapeMismatchIsNamed() throws {
        let directory = try makeTemporaryDirectory("arch-ln-shape")
        // intermediate_size 24 in config.json; the weights' dense_h_to_4h has 16 rows.
        for model in ["base", "task_a"] {
            let target = directory.appendingPathComponent(model)
            try FileManager.default.copyItem(
                at: ArchitectureFixtureCommands.set("gpt-neox").appendingPathComponent(model), to: target)
            let config = target.appendingPathComponent("config.json")
            let text = try String(contentsOf: config, encoding: .utf8)
                .replacingOccurrences(of: "\"intermediate_size\": 16", with: "\"intermediate_size\": 24")
            try Data(text.utf8).write(to: config)
        }
        let (result, output) = try ArchitectureFixtureCommands.probe(
            base: directory.appendingPathComponent("base"), task: directory.appendingPathComponent("task_a"),
            ids: "1 2 3\n", in: directory)
        #expect(result.status == 2)
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
        #expect(
            result.stderr.contains("gpt_neox.layers.0.mlp.dense_h_to_4h.weight") && result.stderr.contains("[16, 32]")
                && result.stderr.contains("[24, 32]"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: output.path))
    }

    @Test("GPT-2 stored without the transformer. prefix (as the original hub files): eval matches transformers' NLL")
    func gpt2WithoutPrefix() throws {
        let reference = try ArchitectureFixtureCommands.evalReference("gpt2")
        let directory = try makeTemporaryDirectory("arch-ln-gpt2-bare")
        let tokenizer = RepositoryPaths.tinyFamily.appendingPathComponent("base")
        for model in ["base", "task_a"] {
            let source = ArchitectureFixtureCommands.set("gpt2").appendingPathComponent(model)
            let target = directory.appendingPathComponent(model)
            try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
            let files = [(source, "config.json"), (tokenizer, "tokenizer.json"), (tokenizer, "tokenizer_config.json")]
            for (from, file) in files {
                try FileManager.default.copyItem(
                    at: from.appendingPathComponent(file), to: target.appendingPathComponent(file))
            }
            let tensors = try TinySafeTensors.read(source.appendingPathComponent("model.safetensors"))
            #expect(tensors.keys.contains("transformer.wte.weight"))
            let stored = try Data(contentsOf: source.appendingPathComponent("model.safetensors"))
            let shapes = try TinySafeTensors.header(stored).entries.mapValues { $0["shape"] as! [Int] }
            try TinySafeTensors.write(
                target.appendingPathComponent("model.safetensors"),
                tensors.keys.sorted().map { name in
                    (String(name.dropFirst(name.hasPrefix("transformer.") ? 12 : 0)), shapes[name]!, tensors[name]!)
                })
        }
        let config = try ArchitectureFixtureCommands.writeMergeConfig([("task_a", 0.3)], in: directory)
        let taskFile = try ArchitectureFixtureCommands.writeTaskItems(reference, in: directory)
        let task = try ArchitectureFixtureCommands.evalScores(config.path, task: taskFile, label: "gpt2")
        let nll = try #require(task["meanNLL"] as? Double)
        #expect(abs(nll - reference.meanNll) <= 1e-5 * abs(reference.meanNll), "\(nll) vs \(reference.meanNll)")
        #expect(task["correctTokens"] as? Int == reference.correctTokens)
    }
}
