import Checkpoints
import Evaluation
import Foundation
import Statistics
import TestSupport
import Testing
import Tokenizers

/// `eval`'s metrics against transformers (Tests/Fixtures/eval/{tiny,gentle}-family.json, written by
/// scripts/fixtures/make_eval_references.py): the base and task models, and the merged points the reference records.
@Suite("Evaluation: parity with transformers on the bundled families")
struct EvaluationParityTests {
    static let family = RepositoryPaths.tinyFamily
    static let taskNames = ["add", "rev", "sort"]
    static let families = ["tiny-family", "gentle-family"]
    static func directory(_ name: String) -> URL {
        RepositoryPaths.root.appendingPathComponent("examples/\(name)")
    }

    struct Reference {
        let json: [String: Any]
        init(_ family: String = "tiny-family") throws {
            let data = try Data(contentsOf: RepositoryPaths.fixtures.appendingPathComponent("eval/\(family).json"))
            json = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        }
        func results(model: String) -> [String: [String: Any]] {
            (json["models"] as! [String: Any])[model] as! [String: [String: Any]]
        }
        func merge(_ label: String) -> (coefficients: [String: Double], results: [String: [String: Any]]) {
            let entry = (json["merges"] as! [String: Any])[label] as! [String: Any]
            return (entry["coefficients"] as! [String: Double], entry["results"] as! [String: [String: Any]])
        }
    }

    static func tasks(_ family: URL = family) throws -> [EvalTask] {
        let tokenizer = try Tokenizer(contentsOf: family.appendingPathComponent("base"))
        return try taskNames.map { name in
            try EvalTask.load(
                name: name, url: family.appendingPathComponent("tasks/\(name).jsonl"), tokenizer: tokenizer,
                vocabularySize: 36, maxLength: 64)
        }
    }

    static func compare(_ metrics: [TaskMetrics], _ reference: [String: [String: Any]], label: String) {
        for (name, m) in zip(taskNames, metrics) {
            let r = reference[name]!
            #expect(m.items == r["items"] as! Int, "\(label) \(name)")
            #expect(m.exactMatch == r["exact_match"] as! Int, "\(label) \(name) exact match")
            #expect(m.correctTokens == r["correct_tokens"] as! Int, "\(label) \(name) correct tokens")
            #expect(m.completionTokens == r["completion_tokens"] as! Int, "\(label) \(name) completion tokens")
            let nll = r["mean_nll"] as! Double
            #expect(abs(m.meanNLL - nll) <= 1e-4 * abs(nll), "\(label) \(name) mean NLL \(m.meanNLL) vs \(nll)")
            #expect(m.itemExact.map { $0 ? 1 : 0 } == r["item_exact"] as! [Int], "\(label) \(name) per-item exact")
            let itemNLL = r["item_nll"] as! [Double]
            let worst = zip(m.itemNLL, itemNLL).map { abs($0 - $1) / max(abs($1), 1e-6) }.max() ?? 0
            #expect(worst <= 1e-3, "\(label) \(name) per-item NLL, worst relative difference \(worst)")
        }
    }

    @Test(arguments: families, ["base", "add", "rev", "sort"])
    func modelDirectory(_ familyName: String, _ model: String) throws {
        let directory = Self.directory(familyName)
        let checkpoint = try Checkpoint(directory: directory.appendingPathComponent(model))
        let engine = try CompletionEvaluator.engine(model: checkpoint)
        let metrics = try CompletionEvaluator().run(engine: engine, points: [[]], tasks: try Self.tasks(directory))[0]
        Self.compare(metrics, try Reference(familyName).results(model: model), label: "\(familyName) \(model)")
    }

    /// Every merged point of the reference, all in one lockstep run (and the base as the zero point).
    @Test(arguments: families)
    func mergedPointsInOneRun(_ familyName: String) throws {
        let reference = try Reference(familyName)
        let directory = Self.directory(familyName)
        let family = try FamilySpec(
            base: directory.appendingPathComponent("base"),
            tasks: Self.taskNames.map { ($0, directory.appendingPathComponent($0)) }
        ).open()
        let engine = try CompletionEvaluator.engine(family: family)
        let labels = ["uniform_s1", "uniform_s2", "metagpt", "metagpt_x2"]
        var points: [[Float]] = labels.map { label in
            let c = reference.merge(label).coefficients
            return Self.taskNames.map { Float(c[$0]!) }
        }
        points.append([0, 0, 0])
        let metrics = try CompletionEvaluator().run(engine: engine, points: points, tasks: try Self.tasks(directory))
        for (p, label) in labels.enumerated() {
            Self.compare(metrics[p], reference.merge(label).results, label: "\(familyName) \(label)")
        }
        Self.compare(metrics[labels.count], reference.results(model: "base"), label: "\(familyName) zero point")
    }

    /// A memory limit that forces one item per batch and one point per lockstep group gives the same metrics,
    /// bit for bit on the counts (the batching is not part of the answer).
    @Test func smallBatchesAgree() throws {
        let family = try FamilySpec(
            base: Self.family.appendingPathComponent("base"),
            tasks: Self.taskNames.map { ($0, Self.family.appendingPathComponent($0)) }
        ).open()
        let engine = try CompletionEvaluator.engine(family: family)
        let tasks = try Self.tasks().map { EvalTask(name: $0.name, url: $0.url, items: Array($0.items.prefix(10))) }
        let points: [[Float]] = [[0.5, 0.5, 0.5], [1, 0, 0]]
        let whole = try CompletionEvaluator().run(engine: engine, points: points, tasks: tasks)
        let small = CompletionEvaluator(memoryLimit: 1)
        #expect(throws: AnalysisError.self) { try small.run(engine: engine, points: points, tasks: tasks) }
        let one = tasks.flatMap(\.items).map {
            CompletionEvaluator().estimatedPeakBytes(engine: engine, points: 2, groupSize: 1, batch: [$0])
        }.max()!
        let limited = CompletionEvaluator(memoryLimit: one)
        #expect(try limited.plan(engine: engine, points: 2, items: tasks.flatMap(\.items)).groupSize == 1)
        let pieces = try limited.run(engine: engine, points: points, tasks: tasks)
        for p in points.indices {
            for (a, b) in zip(whole[p], pieces[p]) {
                #expect(a.itemExact == b.itemExact)
                #expect(a.itemCorrectTokens == b.itemCorrectTokens)
                let worst = zip(a.itemNLL, b.itemNLL).map { abs($0 - $1) / max(abs($1), 1e-6) }.max() ?? 0
                #expect(worst <= 1e-4)
            }
        }
    }
}
