import Foundation
import Statistics
import Transformer

/// Scores candidate points against the teachers in one lockstep run: the items are each task's prompts followed by
/// their teacher continuation (teacher forcing), the teachers' distributions at those rows are the logits kept while
/// decoding (``TeacherDecoding/Teachers``), and the candidates' logits are computed only at the continuation rows,
/// one vocabulary block at a time, reduced by ``LabelFreeScorer`` as they appear (weights read once per lockstep
/// group per batch; layout and memory as ``CompletionEvaluator/plan(engine:points:items:)`` plans a sweep).
public enum LabelFreeEvaluator {
    public typealias Teachers = TeacherDecoding.Teachers

    /// One candidate's numbers on one task's prompts.
    public struct TaskScore: Sendable, Equatable {
        /// Fraction of the task's prompts whose whole teacher continuation is the candidate's argmax at every row.
        public let agreement: Double
        /// Fraction of the task's continuation rows whose argmax is the teacher's token.
        public let tokenAgreement: Double
        /// Mean over the task's continuation rows of KL(teacher ‖ candidate), natural log.
        public let meanKL: Double
        /// Mean over those rows of the candidate's prediction entropy, natural log.
        public let meanEntropy: Double
        /// The candidate's argmax at every continuation row, prompts in order (for stability across scales).
        public let argmax: [Int]
        public let prompts: Int
        /// Per prompt, whether the whole teacher continuation is the candidate's argmax (nil when not known: then
        /// ``LabelFreeSelection`` estimates the sampling error from ``agreement`` alone).
        public let agrees: [Bool]?

        public init(
            agreement: Double, tokenAgreement: Double, meanKL: Double, meanEntropy: Double, argmax: [Int], prompts: Int,
            agrees: [Bool]? = nil
        ) {
            self.agreement = agreement
            self.tokenAgreement = tokenAgreement
            self.meanKL = meanKL
            self.meanEntropy = meanEntropy
            self.argmax = argmax
            self.prompts = prompts
            self.agrees = agrees
        }
    }

    /// result[c][t]: candidate c's scores on task t's prompts.
    ///
    /// - Parameters:
    ///   - teachers: the task models' continuations of `tasks` (each non-empty) and their logits.
    ///   - candidates: coefficient rows, one coefficient per task model.
    ///   - progress: called with (done, total) steps: a layer of a lockstep group, or a vocabulary block.
    /// - Throws: ``AnalysisError`` for a run over the evaluator's memory limit or non-finite logits (naming the
    ///   prompts file and line); ``TransformerError`` for bad points and non-finite weights.
    public static func score(
        engine: LockstepEngine, tasks: [UnlabeledPrompts], teachers: Teachers, candidates: [[Float]],
        evaluator: CompletionEvaluator = CompletionEvaluator(), progress: ((Int, Int) -> Void)? = nil
    ) throws -> [[TaskScore]] {
        let T = tasks.count
        let continuations = teachers.tokens
        precondition(continuations.count == T && engine.tasks.count == T, "one continuation list per task model")
        guard !candidates.isEmpty else { return [] }
        let points = candidates
        var items: [EvalItem] = [], owner: [(task: Int, prompt: Int)] = [], firstRow: [Int] = []
        var row = 0
        for t in 0..<T {
            for (q, prompt) in tasks[t].prompts.enumerated() {
                items.append(EvalItem(prompt: prompt, completion: continuations[t][q], line: tasks[t].lines[q]))
                owner.append((t, q))
                firstRow.append(row)
                row += continuations[t][q].count
            }
        }
        let C = candidates.count
        // Per candidate and item: agreeing rows, Σ KL, Σ entropy, argmax tokens.
        var agreeing = [[Int]](repeating: [Int](repeating: 0, count: items.count), count: C)
        var klSums = [[Double]](repeating: [Double](repeating: 0, count: items.count), count: C)
        var entropySums = klSums
        var argmax = [[[Int]]](repeating: items.map { _ in [] }, count: C)
        try evaluator.forEachBatch(
            engine: engine, points: points, items: items, progress: progress,
            nonFinite: { index, error in
                let (t, q) = owner[index]
                return AnalysisError.badArgument(
                    "prompts of '\(tasks[t].name)', \(tasks[t].url.path):\(tasks[t].lines[q]): \(error.description)",
                    cause: error)
            }
        ) { batch, project in
            let teacherRow = batch.rows.indices.map { firstRow[batch.item[$0]] + batch.token[$0] }
            let target = batch.rows.indices.map { items[batch.item[$0]].completion[batch.token[$0]] }
            var scorer = LabelFreeScorer(
                points: points.count, teacherRow: teacherRow, vocabularySize: teachers.vocabularySize)
            try teachers.logits.withUnsafeBufferPointer { stored in
                try project { scorer.add($0, $1, teachers: stored.baseAddress!) }
            }
            for c in 0..<C {
                for r in batch.rows.indices {
                    let item = batch.item[r]
                    let token = scorer.argmax(point: c, row: r)
                    if token == target[r] { agreeing[c][item] += 1 }
                    klSums[c][item] += scorer.divergence(point: c, row: r)
                    entropySums[c][item] += scorer.entropy(point: c, row: r)
                    argmax[c][item].append(token)
                }
            }
        }
        return (0..<C).map { c in
            var start = 0
            return (0..<T).map { t in
                let range = start..<(start + tasks[t].prompts.count)
                start = range.upperBound
                let rows = range.reduce(0) { $0 + items[$1].completion.count }
                let whole = range.filter { agreeing[c][$0] == items[$0].completion.count }.count
                return TaskScore(
                    agreement: Double(whole) / Double(range.count),
                    tokenAgreement: Double(range.reduce(0) { $0 + agreeing[c][$1] }) / Double(rows),
                    meanKL: range.reduce(0) { $0 + klSums[c][$1] } / Double(rows),
                    meanEntropy: range.reduce(0) { $0 + entropySums[c][$1] } / Double(rows),
                    argmax: range.flatMap { argmax[c][$0] }, prompts: range.count,
                    agrees: range.map { agreeing[c][$0] == items[$0].completion.count })
            }
        }
    }
}
