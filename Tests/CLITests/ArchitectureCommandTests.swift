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

    /// The "eval" entry of a set's references.safetensors header (scripts/fixtures/make_architecture_fixtures.py).
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

    @Test(
        "eval of a merge point matches transformers' NLL, and a sweep runs, on each new architecture",
        arguments: ["llama3-rope", "mistral-window", "qwen2-window", "qwen3", "gemma2", "gemma3"])
    func evalAndSweepRun(set: String) throws {
        let reference = try Self.evalReference(set)
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
        #expect(abs(nll - reference.meanNll) <= 1e-4, "\(set): mean NLL \(nll), transformers \(reference.meanNll)")
        #expect(task["correctTokens"] as? Int == reference.correctTokens, "\(set)")
        #expect(task["completionTokens"] as? Int == reference.completionTokens, "\(set)")
        let sweep = try MetaMergeProcess.run([
            "sweep", config.path, "--task", "add=" + taskFile.path, "--scales", "0.5:1:0.5", "--weights", "uniform",
            "-o", directory.appendingPathComponent("sweep.h5").path,
        ])
        #expect(sweep.status == 0, "\(set): \(sweep.stderr)")
    }

    @Test("an architecture outside the table: one line naming it and the supported ones, exit 2")
    func unsupportedArchitectureIsNamed() throws {
        let directory = try makeTemporaryDirectory("arch-refused")
        // The qwen3 base and task model relabelled as Falcon, a decoder the table does not hold.
        for model in ["base", "task_a"] {
            let source = Self.set("qwen3").appendingPathComponent(model)
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
        let base = directory.appendingPathComponent("base")
        let ids = directory.appendingPathComponent("ids.txt")
        try Data("1 5 9 8\n".utf8).write(to: ids)
        let result = try MetaMergeProcess.run([
            "probe", "--base", base.path, "--model", "a=" + directory.appendingPathComponent("task_a").path,
            "--token-ids", ids.path, "-o", directory.appendingPathComponent("probe.h5").path,
        ])
        #expect(result.status == 2)
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
        #expect(result.stderr.contains("FalconForCausalLM"), "\(result.stderr)")
        for supported in ["llama", "mistral", "qwen2", "qwen3", "gemma2", "gemma3_text"] {
            #expect(result.stderr.contains(supported), "\(result.stderr)")
        }
    }
}
