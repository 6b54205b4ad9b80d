import Foundation
import TestSupport
import Testing

/// The steps the architecture tests run through the `metamerge` binary on the sets of Tests/Fixtures/transformer
/// (scripts/fixtures/make_architecture_fixtures*.py): the fixture's models with the bundled family's
/// character-level tokenizer, a task_arithmetic config at the reference's coefficients, the reference's task items,
/// and `probe`, `eval` and `sweep` on them.
enum ArchitectureFixtureCommands {
    /// The directory of a fixture set (base, task_a, task_b when present, references.safetensors).
    static func set(_ name: String) -> URL {
        RepositoryPaths.fixtures.appendingPathComponent("transformer").appendingPathComponent(name)
    }

    /// The "eval" entry of a set's references.safetensors header.
    struct EvalReference: Decodable {
        let taskFile: String
        let items: Int
        let coefficients: [Double]
        let meanNll: Double
        let correctTokens: Int
        let completionTokens: Int
    }

    static func evalReference(_ set: String) throws -> EvalReference {
        let data = try Data(contentsOf: Self.set(set).appendingPathComponent("references.safetensors"))
        let length = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let header = try JSONSerialization.jsonObject(with: data.dropFirst(8).prefix(length)) as? [String: Any]
        let metadata = try #require(header?["__metadata__"] as? [String: String])
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(EvalReference.self, from: Data(try #require(metadata["eval"]).utf8))
    }

    /// `probe` of the set's base along `models` (`--model name=path` pairs; task_a and task_b as a and b when nil)
    /// on a short prompt and one longer than every sliding window of the fixtures (4 or 5): exit 0 and an output.
    static func expectProbeRuns(_ set: String, models: [String]? = nil, directoryPrefix: String = "arch-probe")
        throws
    {
        let directory = try makeTemporaryDirectory(directoryPrefix)
        let ids = directory.appendingPathComponent("ids.txt")
        try Data("1 5 9 8\n3 1 4 1 5 9 2 6 5 3 5 8\n".utf8).write(to: ids)
        let family = Self.set(set)
        let models =
            models ?? [
                "--model", "a=" + family.appendingPathComponent("task_a").path,
                "--model", "b=" + family.appendingPathComponent("task_b").path,
            ]
        let output = directory.appendingPathComponent("probe.h5")
        let result = try MetaMergeProcess.run(
            ["probe", "--base", family.appendingPathComponent("base").path] + models + [
                "--token-ids", ids.path, "--alphas", "0:1:0.5", "-o", output.path,
            ])
        #expect(result.status == 0, "\(set): \(result.stderr)")
        #expect(FileManager.default.fileExists(atPath: output.path))
    }

    /// `probe` of `base` along `task` (as a) on the token ids `ids`, written to directory/ids.txt; the output is
    /// directory/probe.h5.
    static func probe(base: URL, task: URL, ids: String, in directory: URL) throws
        -> (result: MetaMergeProcess.Result, output: URL)
    {
        let idsFile = directory.appendingPathComponent("ids.txt")
        try Data(ids.utf8).write(to: idsFile)
        let output = directory.appendingPathComponent("probe.h5")
        let result = try MetaMergeProcess.run([
            "probe", "--base", base.path, "--model", "a=" + task.path, "--token-ids", idsFile.path,
            "-o", output.path,
        ])
        return (result, output)
    }

    /// Copies the set's `models` into `directory`, each with the bundled family's tokenizer (36 ids, inside every
    /// fixture's vocabulary of 64).
    static func copyModelsWithTokenizer(_ set: String, _ models: [String], into directory: URL) throws {
        let tokenizer = RepositoryPaths.tinyFamily.appendingPathComponent("base")
        for model in models {
            let target = directory.appendingPathComponent(model)
            try FileManager.default.copyItem(at: Self.set(set).appendingPathComponent(model), to: target)
            for file in ["tokenizer.json", "tokenizer_config.json"] {
                try FileManager.default.copyItem(
                    at: tokenizer.appendingPathComponent(file), to: target.appendingPathComponent(file))
            }
        }
    }

    /// directory/merge.yml: task_arithmetic on the base model "base" with each task model at its weight.
    static func writeMergeConfig(_ weights: [(model: String, weight: Double)], in directory: URL) throws -> URL {
        let config = directory.appendingPathComponent("merge.yml")
        let models = weights.map { "  - model: \($0.model)\n    parameters:\n      weight: \($0.weight)\n" }
        let yaml = "merge_method: task_arithmetic\nbase_model: base\nmodels:\n" + models.joined()
        try Data(yaml.utf8).write(to: config)
        return config
    }

    /// directory/add.jsonl: the first `reference.items` lines of the reference's task file.
    static func writeTaskItems(_ reference: EvalReference, in directory: URL) throws -> URL {
        let lines = try String(
            contentsOf: RepositoryPaths.root.appendingPathComponent(reference.taskFile), encoding: .utf8
        ).split(separator: "\n").prefix(reference.items)
        let taskFile = directory.appendingPathComponent("add.jsonl")
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: taskFile)
        return taskFile
    }

    /// A temporary directory with the set's base and `tasks` (with the tokenizer), a task_arithmetic config at the
    /// reference's coefficients and the reference's task items.
    static func evalSetup(_ set: String, tasks: [String] = ["task_a", "task_b"], directoryPrefix: String) throws
        -> (reference: EvalReference, config: URL, task: URL, directory: URL)
    {
        let reference = try evalReference(set)
        let directory = try makeTemporaryDirectory(directoryPrefix)
        try copyModelsWithTokenizer(set, ["base"] + tasks, into: directory)
        let config = try writeMergeConfig(Array(zip(tasks, reference.coefficients)), in: directory)
        let task = try writeTaskItems(reference, in: directory)
        return (reference, config, task, directory)
    }

    /// `eval TARGET --task add=TASK --json`: exit 0 (else a failure labelled `label`), and the report's first task.
    static func evalScores(_ target: String, task: URL, label: String) throws -> [String: Any] {
        let eval = try MetaMergeProcess.run(["eval", target, "--task", "add=" + task.path, "--json"])
        #expect(eval.status == 0, "\(label): \(eval.stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(eval.stdout.utf8)) as? [String: Any]
        return try #require((report?["tasks"] as? [[String: Any]])?.first)
    }

    /// The scores of `evalScores` against the reference: mean NLL within 1e-5 relative (issue 19's tolerance), and
    /// the same correct and completion token counts.
    static func expectMatches(_ scores: [String: Any], _ reference: EvalReference, set: String) throws {
        let nll = try #require(scores["meanNLL"] as? Double)
        #expect(abs(nll - reference.meanNll) <= 1e-5 * abs(reference.meanNll), "\(set): mean NLL \(nll), transformers \(reference.meanNll)")
        #expect(scores["correctTokens"] as? Int == reference.correctTokens, "\(set)")
        #expect(scores["completionTokens"] as? Int == reference.completionTokens, "\(set)")
    }

    /// `sweep CONFIG --task add=TASK --scales 0.5:1:0.5 --weights uniform` into directory/sweep.h5: exit 0.
    @discardableResult
    static func expectSweepRuns(_ config: URL, task: URL, in directory: URL, set: String) throws -> URL {
        let output = directory.appendingPathComponent("sweep.h5")
        let sweep = try MetaMergeProcess.run([
            "sweep", config.path, "--task", "add=" + task.path, "--scales", "0.5:1:0.5", "--weights", "uniform",
            "-o", output.path,
        ])
        #expect(sweep.status == 0, "\(set): \(sweep.stderr)")
        return output
    }
}
