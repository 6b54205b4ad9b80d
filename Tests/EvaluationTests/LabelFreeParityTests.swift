import Checkpoints
import Evaluation
import Foundation
import TestSupport
import Testing
import Tokenizers
import Transformer

/// Label-free scoring against transformers (Tests/Fixtures/labelfree/tiny-family.json, written by
/// scripts/fixtures/make_labelfree_references.py): the task models' greedy continuations of 4 prompts per task, and
/// at two merged points the per-task agreement, token agreement, mean KL(teacher ‖ point) and mean entropy.
@Suite("Label-free: parity with transformers on the tiny family")
struct LabelFreeParityTests {
    static let taskNames = ["add", "rev", "sort"]

    static func reference() throws -> [String: Any] {
        let data = try Data(contentsOf: RepositoryPaths.fixtures.appendingPathComponent("labelfree/tiny-family.json"))
        return try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    /// The first 4 prompts of each task file, read by the prompts reader (the completions are ignored).
    static func prompts() throws -> [UnlabeledPrompts] {
        let tokenizer = try Tokenizer(contentsOf: RepositoryPaths.tinyFamily.appendingPathComponent("base"))
        return try taskNames.map { name in
            let all = try UnlabeledPrompts.load(
                name: name, url: RepositoryPaths.tinyFamily.appendingPathComponent("tasks/\(name).jsonl"),
                tokenizer: tokenizer, vocabularySize: 36, maxLength: 64)
            return UnlabeledPrompts(
                name: name, url: all.url, prompts: Array(all.prompts.prefix(4)), lines: Array(all.lines.prefix(4)))
        }
    }

    static func teachers(_ engine: LockstepEngineHolder) throws -> TeacherDecoding.Teachers {
        let eos = try TeacherDecoding.endOfSequenceIDs(
            modelDirectory: RepositoryPaths.tinyFamily.appendingPathComponent("base"))
        return try TeacherDecoding.continuations(
            engine: engine.engine, tasks: try prompts(), maxNewTokens: 16, endOfSequence: eos)
    }

    @Test func promptsAndTeacherContinuationsEqualTransformers() throws {
        let reference = try Self.reference()
        let engine = try LockstepEngineHolder()
        let prompts = try Self.prompts()
        let expectedPrompts = reference["prompts"] as! [String: [[Int]]]
        for task in prompts { #expect(task.prompts == expectedPrompts[task.name]!, "\(task.name) prompts") }
        #expect(
            try TeacherDecoding.endOfSequenceIDs(
                modelDirectory: RepositoryPaths.tinyFamily.appendingPathComponent("base"))
                == Set(reference["eos_token_ids"] as! [Int]))
        let continuations = try Self.teachers(engine).tokens
        let expected = reference["continuations"] as! [String: [[Int]]]
        for (t, name) in Self.taskNames.enumerated() {
            #expect(continuations[t] == expected[name]!, "\(name) continuations")
        }
    }

    @Test func agreementKLAndEntropyAtMergedPointsEqualTransformers() throws {
        let reference = try Self.reference()
        let engine = try LockstepEngineHolder()
        let teachers = try Self.teachers(engine)
        let points = reference["points"] as! [String: [String: Any]]
        let labels = points.keys.sorted()
        let candidates = labels.map { label -> [Float] in
            let c = points[label]!["coefficients"] as! [String: Double]
            return Self.taskNames.map { Float(c[$0]!) }
        }
        let scores = try LabelFreeEvaluator.score(
            engine: engine.engine, tasks: try Self.prompts(), teachers: teachers, candidates: candidates)
        for (p, label) in labels.enumerated() {
            let tasks = points[label]!["tasks"] as! [String: [String: Any]]
            for (t, name) in Self.taskNames.enumerated() {
                let r = tasks[name]!, s = scores[p][t]
                #expect(s.agreement == r["agreement"] as! Double, "\(label) \(name) agreement")
                // Agreeing rows as counts (the JSON's fraction is Python's rounding of the same ratio).
                let rows = r["rows"] as! Int
                #expect(s.argmax.count == rows, "\(label) \(name) rows")
                #expect(
                    (s.tokenAgreement * Double(rows)).rounded() == ((r["token_agreement"] as! Double) * Double(rows))
                        .rounded(), "\(label) \(name) token agreement")
                let kl = r["mean_kl"] as! Double, entropy = r["mean_entropy"] as! Double
                #expect(abs(s.meanKL - kl) <= 1e-5 * abs(kl), "\(label) \(name) KL \(s.meanKL) vs \(kl)")
                #expect(
                    abs(s.meanEntropy - entropy) <= 1e-5 * abs(entropy),
                    "\(label) \(name) entropy \(s.meanEntropy) vs \(entropy)")
            }
        }
    }

    /// A candidate at a teacher point agrees with that teacher everywhere, at KL 0; the reference points do not.
    @Test func theTeacherPointAgreesWithItselfAtZeroDivergence() throws {
        let engine = try LockstepEngineHolder()
        let teachers = try Self.teachers(engine)
        let scores = try LabelFreeEvaluator.score(
            engine: engine.engine, tasks: try Self.prompts(), teachers: teachers,
            candidates: [[1, 0, 0], [0, 1, 0], [0, 0, 1]])
        for t in 0..<3 {
            #expect(scores[t][t].agreement == 1)
            #expect(scores[t][t].tokenAgreement == 1)
            #expect(scores[t][t].meanKL < 1e-6)
            #expect(scores[t][t].meanEntropy > 0)
        }
        #expect(scores[0][1].meanKL > 0.01)
    }
}

/// The tiny family's engine with all three task models.
struct LockstepEngineHolder {
    let engine: LockstepEngine
    init() throws {
        engine = try CompletionEvaluator.engine(family: try BundledFamily.open(["add", "rev", "sort"]))
    }
}
