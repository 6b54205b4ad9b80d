import Foundation
import TestSupport
import Testing

/// `metamerge eval` and `metamerge sweep` as a user runs them: exit codes, one-line errors naming file and line,
/// and the numbers of the transformers reference (Tests/Fixtures/eval/tiny-family.json).
@Suite("eval and sweep on the command line")
struct EvalCommandTests {
    static var family: URL { RepositoryPaths.tinyFamily }
    static func task(_ name: String) -> String {
        "\(name)=" + family.appendingPathComponent("tasks/\(name).jsonl").path
    }

    static func reference() throws -> [String: Any] {
        let data = try Data(contentsOf: RepositoryPaths.fixtures.appendingPathComponent("eval/tiny-family.json"))
        return try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    static func json(_ text: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any]
    }

    /// exact match per task from `eval --json`.
    static func tasks(_ object: [String: Any]) -> [[String: Any]] { object["tasks"] as! [[String: Any]] }

    @Test func evalModelDirectoryMatchesTransformers() throws {
        let result = try MetaMergeProcess.run(
            [
                "eval", Self.family.appendingPathComponent("add").path, "--task", Self.task("add"), "--task",
                Self.task("sort"), "--json", "--quiet",
            ])
        #expect(result.status == 0, "\(result.stderr)")
        let reference = (try Self.reference()["models"] as! [String: Any])["add"] as! [String: [String: Any]]
        for task in Self.tasks(try Self.json(result.stdout)) {
            let r = reference[task["name"] as! String]!
            #expect(task["exactMatch"] as! Int == r["exact_match"] as! Int)
            #expect(task["correctTokens"] as! Int == r["correct_tokens"] as! Int)
            let nll = r["mean_nll"] as! Double
            #expect(abs(task["meanNLL"] as! Double - nll) <= 1e-4 * nll)
        }
    }

    /// `eval CONFIG` (MetaGPT) evaluates the merge point without writing it: the reference's `metagpt` point.
    @Test func evalMetaGPTConfigMatchesTheReferencePoint() throws {
        let config = Self.family.deletingLastPathComponent().appendingPathComponent("tiny-family-metagpt.yml").path
        let result = try MetaMergeProcess.run(
            [
                "eval", config, "--task", Self.task("add"), "--task", Self.task("rev"), "--task", Self.task("sort"),
                "--json", "--quiet",
            ])
        #expect(result.status == 0, "\(result.stderr)")
        let merge = (try Self.reference()["merges"] as! [String: Any])["metagpt"] as! [String: Any]
        let reference = merge["results"] as! [String: [String: Any]]
        let object = try Self.json(result.stdout)
        let c = object["coefficients"] as! [Double]
        let expected = merge["coefficients"] as! [String: Double]
        for (k, name) in ["add", "rev", "sort"].enumerated() { #expect(abs(c[k] - expected[name]!) < 1e-9) }
        for task in Self.tasks(object) {
            let r = reference[task["name"] as! String]!
            #expect(task["exactMatch"] as! Int == r["exact_match"] as! Int)
            #expect(task["correctTokens"] as! Int == r["correct_tokens"] as! Int)
            let nll = r["mean_nll"] as! Double
            #expect(abs(task["meanNLL"] as! Double - nll) <= 1e-4 * nll)
        }
    }

    static func write(_ directory: URL, _ name: String, _ text: String) throws -> String {
        let url = directory.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url.path
    }

    /// Bad task files: exit 2, one line naming the file and the line.
    @Test func badTaskFilesExitTwoNamingFileAndLine() throws {
        let directory = try makeTemporaryDirectory("eval-bad")
        let good = #"{"prompt": "<bos>1+2=", "completion": "3<eos>"}"#
        let long = String(repeating: "1", count: 70)
        let cases: [(String, String, String)] = [
            ("nocompletion.jsonl", good + "\n" + #"{"prompt": "<bos>1+2="}"# + "\n", ":2: no \"completion\""),
            (
                "empty.jsonl", good + "\n\n" + #"{"prompt": "<bos>1+2=", "completion": ""}"# + "\n",
                ":3: the completion is empty"
            ),
            (
                "long.jsonl", #"{"prompt": "<bos>\#(long)", "completion": "3<eos>"}"# + "\n",
                ":1: prompt + completion have"
            ),
            ("notjsonl.jsonl", "prompt,completion\n1+2=,3\n", ":1: not a JSON object"),
        ]
        for (name, text, expected) in cases {
            let path = try Self.write(directory, name, text)
            let result = try MetaMergeProcess.run(
                ["eval", Self.family.appendingPathComponent("base").path, "--task", "t=\(path)", "--quiet"])
            #expect(result.status == 2, "\(name)")
            #expect(result.stderr.contains(path + expected), "\(name): \(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1, "\(name): \(result.stderr)")
        }
        let missing = try MetaMergeProcess.run(["eval", Self.family.appendingPathComponent("base").path, "--quiet"])
        #expect(missing.status == 2)
    }

    /// A method that is not linear in the task vectors is refused with the way out.
    @Test func nonLinearConfigIsRefused() throws {
        let directory = try makeTemporaryDirectory("eval-ties")
        let base = Self.family.path
        let config = try Self.write(
            directory, "ties.yml",
            """
            merge_method: ties
            base_model: \(base)/base
            models:
              - model: \(base)/add
                parameters: {weight: 1, density: 0.5}
              - model: \(base)/rev
                parameters: {weight: 1, density: 0.5}
            """)
        let result = try MetaMergeProcess.run(["eval", config, "--task", Self.task("add"), "--quiet"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("metamerge merge"), "\(result.stderr)")
    }

    /// `sweep` at a point = `eval` of the model `metamerge merge` wrote at that point, and = `eval CONFIG`.
    /// Bit for bit against `eval CONFIG` (the same engine); against the written merge, bit for bit at a single-task
    /// point and within 1e-5 relative otherwise: the merge kernels round in their own order (task_arithmetic Σ w·δ
    /// then θ0 + ·; metagpt in Float64, rounded once), the engine forms θ0 + c₁δ₁ + c₂δ₂ … in Float32 — measured
    /// differences 1e-7 … 3e-6 relative on the tiny family.
    @Test(arguments: [
        (
            "task_arithmetic",
            "  - model: {B}/add\n    parameters: {weight: 1}\n  - model: {B}/rev\n    parameters: {weight: 0}\n  - "
                + "model: {B}/sort\n    parameters: {weight: 0}\n",
            "1:0:0", "1"
        ),
        (
            "task_arithmetic",
            "  - model: {B}/add\n    parameters: {weight: 0.5}\n  - model: {B}/rev\n    parameters: {weight: 0.5}\n  - "
                + "model: {B}/sort\n    parameters: {weight: 0.5}\n",
            "0.5:0.5:0.5", "1"
        ),
        (
            "linear",
            "  - model: {B}/base\n    parameters: {weight: 1}\n  - model: {B}/add\n    parameters: {weight: 1}\n  - "
                + "model: {B}/rev\n    parameters: {weight: 1}\n  - model: {B}/sort\n    parameters: {weight: 1}\n",
            "0.25:0.25:0.25", "1"
        ),
        ("metagpt", "  - model: {B}/add\n  - model: {B}/rev\n  - model: {B}/sort\n", "metagpt", "1"),
    ])
    func sweepAtAPointEqualsEvalOfTheMergedModel(
        _ method: String, _ models: String, _ weights: String, _ scale: String
    ) throws {
        let directory = try makeTemporaryDirectory("sweep-point")
        let base = Self.family.path
        let config = try Self.write(
            directory, "merge.yml",
            """
            merge_method: \(method)
            base_model: \(base)/base
            dtype: float32
            models:
            \(models.replacingOccurrences(of: "{B}", with: base))
            """)
        let tasks = ["add", "rev", "sort"].flatMap { ["--task", Self.task($0)] }
        let merged = directory.appendingPathComponent("merged").path
        let merge = try MetaMergeProcess.run(["merge", config, merged, "--quiet"])
        #expect(merge.status == 0, "\(merge.stderr)")
        let evalDir = try MetaMergeProcess.run(["eval", merged, "--json", "--quiet"] + tasks)
        #expect(evalDir.status == 0, "\(evalDir.stderr)")
        let evalConfig = try MetaMergeProcess.run(["eval", config, "--json", "--quiet"] + tasks)
        #expect(evalConfig.status == 0, "\(evalConfig.stderr)")
        let sweep = try MetaMergeProcess.run(
            [
                "sweep", config, "--weights", weights, "--scales", scale, "--json", "--quiet", "-o",
                directory.appendingPathComponent("s.h5").path,
            ] + tasks)
        #expect(sweep.status == 0, "\(sweep.stderr)")
        let point = (try Self.json(sweep.stdout)["points"] as! [[String: Any]])[0]
        let fromDir = Self.tasks(try Self.json(evalDir.stdout))
        let fromConfig = Self.tasks(try Self.json(evalConfig.stdout))
        for e in 0..<3 {
            // The same engine, the same point: eval CONFIG and sweep agree bit for bit.
            #expect((point["exactMatch"] as! [Int])[e] == fromConfig[e]["exactMatch"] as! Int)
            #expect((point["meanNLL"] as! [Double])[e] == fromConfig[e]["meanNLL"] as! Double)
            #expect((point["tokenAccuracy"] as! [Double])[e] == fromConfig[e]["tokenAccuracy"] as! Double)
            // The written merge: the same counts; the NLL within the Float32 rounding of the merged weights.
            #expect((point["exactMatch"] as! [Int])[e] == fromDir[e]["exactMatch"] as! Int, "\(method) task \(e)")
            #expect(
                (point["tokenAccuracy"] as! [Double])[e] == fromDir[e]["tokenAccuracy"] as! Double,
                "\(method) task \(e)")
            let a = (point["meanNLL"] as! [Double])[e], b = fromDir[e]["meanNLL"] as! Double
            #expect(abs(a - b) <= 1e-5 * abs(b), "\(method) task \(e): \(a) vs \(b) (bit-equal: \(a == b))")
            // One task vector: the merge and the engine form θ0 + c·(θt − θ0) with the same Float32 operations.
            if weights == "1:0:0" { #expect(a == b, "single-task point: \(a) vs \(b)") }
        }
    }
}
