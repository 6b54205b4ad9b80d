import Checkpoints
import Foundation
import Statistics
import Tokenizers
import Transformer

/// "Recommend a point from unlabeled prompts": the teachers' continuations (``TeacherDecoding``), then candidate
/// points c = s·w scored against them (``LabelFreeEvaluator``) and chosen by ``LabelFreeSelection``.
///
/// Candidates: weightings `uniform` (1/T), `metagpt` (λ of the analysis report) and `linear` (c* = G⁻¹·diag(G) of
/// the report's global Gram matrix, divided by Σc*, when G is solvable and c* has no negative entry; a weighting
/// within ``LabelFreeSelection/sameWeightingTolerance`` of an earlier one is dropped) at every scale of ``scales``,
/// plus the data-free recommendation's point, in one lockstep run (the teachers' distributions are the logits kept
/// while decoding). Then a refinement around the agreement pick: its weighting at s ± h/4 and s ± h/2 (h the coarse
/// grid's smallest step; only s > 0 not yet scored on that line) in a second run. The selection is made over every
/// scored point.
public struct LabelFreeRun {
    public let family: ModelFamily
    /// The analysis report's statistics, which must describe `family`'s weights (``ReportMatch``).
    public let statistics: TaskVectorStatistics
    /// The data-free recommendation (in the statistics' task order).
    public let dataFree: Recommendation
    /// `NAME=FILE.jsonl` arguments, one per task model.
    public let prompts: [String]
    public let scales: [Double]
    public let maxNewTokens: Int
    public var evaluator = CompletionEvaluator()

    /// The most new tokens a teacher may decode per prompt.
    public static let maxNewTokensLimit = 256

    public init(
        family: ModelFamily, statistics: TaskVectorStatistics, dataFree: Recommendation, prompts: [String],
        scales: [Double], maxNewTokens: Int
    ) {
        self.family = family
        self.statistics = statistics
        self.dataFree = dataFree
        self.prompts = prompts
        self.scales = scales
        self.maxNewTokens = maxNewTokens
    }

    /// What a run found.
    public struct Result: Sendable {
        public let taskNames: [String]
        public let selection: LabelFreeSelection
        /// The index of the data-free point among the selection's candidates.
        public let dataFree: Int
        /// continuations[t][q]: task model t's greedy continuation of its prompt q.
        public let continuations: [[[Int]]]
        public let maxNewTokens: Int
        /// For each task of the family, the index of the analysis report's task with the same weights.
        public let taskOrder: [Int]
    }

    /// For each task of `family`, the index of the report's task with the same weights.
    ///
    /// - Throws: ``AnalysisError/familyMismatch(_:)`` naming what differs.
    public static func taskOrder(_ statistics: TaskVectorStatistics, family: ModelFamily) throws -> [Int] {
        let base = "the analysis report does not describe these models"
        switch try ReportMatch.match(statistics, to: family) {
        case .matched(let order):
            // Two task models with the same weights match one recorded task: the report does not describe both.
            guard Set(order).count == order.count else {
                let twice = order.first { k in order.filter { $0 == k }.count > 1 }!
                let names = family.taskNames.indices.filter { order[$0] == twice }.map { "'\(family.taskNames[$0])'" }
                throw AnalysisError.familyMismatch(
                    "\(base): task models \(names.joined(separator: " and ")) have the same weights (the report's "
                        + "'\(statistics.taskNames[twice])')")
            }
            return order
        case .noBase: throw AnalysisError.familyMismatch("\(base): it records no base model")
        case .otherBase(let recorded, let actual):
            throw AnalysisError.familyMismatch(
                "\(base): its base has weight fingerprint \(recorded), \(family.base.directory.path) has \(actual)")
        case .missingTask(let name, let fingerprint):
            throw AnalysisError.familyMismatch(
                "\(base): no task of the report has the weights of '\(name)' (fingerprint \(fingerprint))")
        case .taskCount(let reported, let count):
            throw AnalysisError.familyMismatch("\(base): it covers \(reported) task models, the family has \(count)")
        }
    }

    /// The family recorded in an analysis report's provenance (its base and task models' paths).
    ///
    /// - Throws: ``AnalysisError/badArgument(_:cause:)`` when the report records no base, or a recorded model can no
    ///   longer be opened (naming it); checkpoint errors.
    public static func recordedFamily(_ statistics: TaskVectorStatistics, report: URL) throws -> ModelFamily {
        let models = statistics.provenance.models
        guard let base = models.first(where: { $0.role == "base" }) else {
            throw AnalysisError.badArgument(
                "\(report.path): records no base model; give the family with --config or --base/--model")
        }
        let tasks = models.filter { $0.role != "base" }
        for model in [base] + tasks where !FileManager.default.fileExists(atPath: model.path) {
            throw AnalysisError.badArgument(
                "\(report.path): the recorded model '\(model.role)' at \(model.path) does not exist; give the family "
                    + "with --config or --base/--model")
        }
        return try FamilySpec(
            base: URL(fileURLWithPath: base.path), tasks: tasks.map { ($0.role, URL(fileURLWithPath: $0.path)) }
        ).open()
    }

    /// Runs the teachers, scores the candidates in two rounds and selects.
    ///
    /// - Parameters:
    ///   - info: one-line notes (what runs, its layout).
    ///   - progress: called with a phase name and (done, total) steps of it.
    /// - Throws: ``AnalysisError`` for a family the report does not describe, bad `--prompts` (unknown, repeated or
    ///   missing task names; bad files), bad scales or token limit, a run over the memory limit; model errors.
    public func run(
        info: (String) -> Void = { _ in }, progress: ((String, Int, Int) -> Void)? = nil
    ) throws -> Result {
        let order = try Self.taskOrder(statistics, family: family)
        let T = family.tasks.count
        guard (1...Self.maxNewTokensLimit).contains(maxNewTokens) else {
            throw AnalysisError.badArgument(
                "--max-new-tokens \(maxNewTokens): expected 1…\(Self.maxNewTokensLimit) tokens per continuation")
        }
        guard !scales.isEmpty, scales.allSatisfy({ $0.isFinite && $0 > 0 }) else {
            throw AnalysisError.badArgument("--scales: expected at least one finite total scale s > 0")
        }
        let target = try EvaluationTarget(family: family, point: [])
        let tasks = try loadPrompts(target: target)
        let endOfSequence = try TeacherDecoding.endOfSequenceIDs(modelDirectory: family.base.directory)
        if endOfSequence.isEmpty {
            info("the base's config.json names no eos_token_id: every continuation has \(maxNewTokens) tokens")
        }
        let teachers = try TeacherDecoding.continuations(
            engine: target.engine, tasks: tasks, maxNewTokens: maxNewTokens, endOfSequence: endOfSequence,
            evaluator: evaluator, progress: { progress?("teachers", $0, $1) })

        // Round 1: the coarse grid and the data-free point.
        var weightings: [(name: String, weights: [Double])] = [
            ("uniform", Array(repeating: 1 / Double(T), count: T)),
            ("metagpt", order.map { statistics.metagptLambdas[$0] }),
        ]
        let gram = statistics.global.moments.gram
        if let c = Recommendation.solve(gram: gram, rhs: gram.squaredNorms), c.allSatisfy({ $0.isFinite && $0 >= 0 }),
            c.reduce(0, +) > 0
        {
            let sum = c.reduce(0, +)
            weightings.append(("linear", order.map { c[$0] / sum }))
        }
        // A weighting within the tolerance of an earlier one (every weight) is the same line of points.
        var kept: [(name: String, weights: [Double])] = []
        for w in weightings {
            if let same = kept.first(where: { LabelFreeSelection.sameWeighting($0.weights, w.weights) }) {
                info(
                    "the \(w.name) weighting is within \(LabelFreeSelection.sameWeightingTolerance) of \(same.name): "
                        + "not scored twice")
                continue
            }
            kept.append(w)
        }
        weightings = kept
        var points: [(name: String, weights: [Double], scale: Double)] = weightings.flatMap { w in
            scales.map { (w.name, w.weights, $0) }
        }
        let dataFreeWeights = order.map { dataFree.weights[$0] }
        points.append((dataFree.weightingName, dataFreeWeights, dataFree.scale))
        let first = try score(
            points, target: target, tasks: tasks, teachers: teachers, round: 1, info: info, progress: progress)
        var candidates = zip(points, first).map {
            LabelFreeSelection.Candidate(weighting: $0.name, weights: $0.weights, scale: $0.scale, scores: $1)
        }

        // Round 2: a finer grid around the agreement pick.
        let lead = candidates[LabelFreeSelection(candidates: candidates).picks[.agreement]!]
        let line = candidates.filter { LabelFreeSelection.sameWeighting($0.weights, lead.weights) }.map(\.scale)
        let grid = Array(Set(scales)).sorted()
        let step = zip(grid, grid.dropFirst()).map { $1 - $0 }.min() ?? lead.scale / 2
        let refined = [-0.5, -0.25, 0.25, 0.5].map { lead.scale + $0 * step }.filter { s in
            s > 1e-9 && !line.contains { abs($0 - s) < 1e-9 }
        }
        if !refined.isEmpty {
            let more = refined.map { (lead.weighting, lead.weights, $0) }
            let second = try score(
                more, target: target, tasks: tasks, teachers: teachers, round: 2, info: info,
                progress: progress)
            candidates += zip(more, second).map {
                LabelFreeSelection.Candidate(weighting: $0.0, weights: $0.1, scale: $0.2, scores: $1)
            }
        }
        return Result(
            taskNames: family.taskNames, selection: LabelFreeSelection(candidates: candidates),
            dataFree: points.count - 1, continuations: teachers.tokens, maxNewTokens: maxNewTokens,
            taskOrder: order)
    }

    private func score(
        _ points: [(name: String, weights: [Double], scale: Double)], target: EvaluationTarget,
        tasks: [UnlabeledPrompts], teachers: TeacherDecoding.Teachers, round: Int, info: (String) -> Void,
        progress: ((String, Int, Int) -> Void)?
    ) throws -> [[LabelFreeEvaluator.TaskScore]] {
        let rows = points.map { p in p.weights.map { Float(p.scale * $0) } }
        let items = tasks.indices.flatMap { t in
            tasks[t].prompts.indices.map {
                EvalItem(prompt: tasks[t].prompts[$0], completion: teachers.tokens[t][$0], line: tasks[t].lines[$0])
            }
        }
        let plan = try evaluator.plan(engine: target.engine, points: rows.count, items: items)
        info(
            String(
                format: "round %d: %d candidates × %d items in %d batch(es), lockstep groups of %d; estimated peak "
                    + "%.2f GB",
                round, rows.count, items.count, plan.batches.count, plan.groupSize,
                Double(plan.peakBytes) / 1e9))
        return try LabelFreeEvaluator.score(
            engine: target.engine, tasks: tasks, teachers: teachers, candidates: rows,
            evaluator: evaluator, progress: { progress?("round \(round)", $0, $1) })
    }

    /// The `--prompts` files in the family's task order: one per task model, named as the family names it.
    private func loadPrompts(target: EvaluationTarget) throws -> [UnlabeledPrompts] {
        let tokenizer: Tokenizer
        do { tokenizer = try Tokenizer(contentsOf: target.tokenizerDirectory) } catch let error as TokenizerError {
            throw AnalysisError.badArgument(
                "\(error.message); recommend --prompts needs the base model's tokenizer.json", cause: error)
        }
        var byName: [String: URL] = [:]
        for argument in prompts {
            let (name, url) = try UnlabeledPrompts.parseArgument(argument)
            guard family.taskNames.contains(name) else {
                throw AnalysisError.badArgument(
                    "--prompts \(name)=…: the family has no task model '\(name)'; its task models are "
                        + family.taskNames.joined(separator: ", "))
            }
            guard byName[name] == nil else {
                throw AnalysisError.badArgument("--prompts: task model '\(name)' is given twice")
            }
            byName[name] = url
        }
        let missing = family.taskNames.filter { byName[$0] == nil }
        guard missing.isEmpty else {
            throw AnalysisError.badArgument(
                "--prompts: no prompts for task model(s) \(missing.joined(separator: ", ")); give one NAME=FILE.jsonl "
                    + "per task model")
        }
        return try family.taskNames.map { name in
            try UnlabeledPrompts.load(
                name: name, url: byName[name]!, tokenizer: tokenizer, vocabularySize: target.config.vocabularySize,
                maxLength: target.config.maxPositionEmbeddings)
        }
    }
}
