import Foundation
import JSONCore
import Statistics
import Transformer

/// The teachers of a label-free recommendation: task model t's greedy continuation of each of task t's prompts.
///
/// Task model t is the family point c = e_t (coefficient 1 on τ_t, 0 elsewhere) run by the ``LockstepEngine``. At
/// each step the whole prefix (prompt + tokens so far) goes through the model again — the engine keeps no KV cache —
/// and the next token is the argmax of the last row's logits (first maximum, as `torch.argmax`), computed one
/// vocabulary block at a time. A prompt stops after `maxNewTokens` tokens, at an EOS id (kept in the continuation),
/// or when its prefix reaches the model's context length. Each step is one run per task over the task's unfinished
/// prompts with its one teacher point: every prompt is computed once, at the price of reading the weights T times
/// per step (T runs) instead of once; the prompts of other tasks never go through a teacher they do not need.
///
/// The last row's logits at each step are the teacher's logits at that continuation row (the model is causal), so
/// they are kept (Float32, one vocabulary row per continuation token): the scoring runs read the teacher's
/// distributions from them instead of running the T teacher points again.
public enum TeacherDecoding {
    /// The teachers' continuations and their logits.
    public struct Teachers: Sendable {
        /// tokens[t][q]: task model t's greedy continuation of prompt q of task t.
        public let tokens: [[[Int]]]
        /// The logits of every continuation row, [rows × vocabulary] row-major, rows in task, prompt, token order.
        public let logits: [Float]
        public let vocabularySize: Int

        /// The first row of task t's prompt q in ``logits``.
        public func firstRow(task t: Int, prompt q: Int) -> Int {
            tokens[..<t].reduce(0) { $0 + $1.reduce(0) { $0 + $1.count } } + tokens[t][..<q].reduce(0) { $0 + $1.count }
        }
    }

    /// The end-of-sequence ids of the model directory's `config.json` (`eos_token_id`: an integer or a list of
    /// integers; absent or null: none).
    ///
    /// - Throws: ``AnalysisError/badArgument(_:cause:)`` for an unreadable config or an `eos_token_id` of another kind.
    public static func endOfSequenceIDs(modelDirectory: URL) throws -> Set<Int> {
        let url = modelDirectory.appendingPathComponent("config.json")
        let node: JSONNode
        do { node = try JSONNode.parse(Array(try Data(contentsOf: url))) } catch {
            throw AnalysisError.badArgument("\(url.path): cannot read the model's config.json", cause: error)
        }
        guard let value = node["eos_token_id"] else { return [] }
        switch value {
        case .null: return []
        case .number(let n) where n.nonNegativeInt != nil: return [n.nonNegativeInt!]
        case .array(let items):
            var ids: Set<Int> = []
            for item in items {
                guard case .number(let n) = item, let id = n.nonNegativeInt else {
                    throw AnalysisError.badArgument(
                        "\(url.path): eos_token_id holds \(item.typeName); expected token ids (integers ≥ 0)")
                }
                ids.insert(id)
            }
            return ids
        default:
            throw AnalysisError.badArgument(
                "\(url.path): eos_token_id is \(value.typeName); expected a token id or a list of token ids")
        }
    }

    /// Task model t's greedy continuation of each prompt of `tasks[t]`, with the logits of every continuation row.
    ///
    /// - Parameters:
    ///   - tasks: one prompts file per task model, in the engine's task order.
    ///   - progress: called with (done, total) decoding steps (one per task and new token).
    /// - Throws: ``AnalysisError`` for a run over the evaluator's memory limit (the kept logits count: at most half
    ///   of it) or non-finite logits (naming the prompts file and line); ``TransformerError`` for non-finite weights.
    public static func continuations(
        engine: LockstepEngine, tasks: [UnlabeledPrompts], maxNewTokens: Int, endOfSequence: Set<Int>,
        evaluator: CompletionEvaluator = CompletionEvaluator(), progress: ((Int, Int) -> Void)? = nil
    ) throws -> Teachers {
        let T = engine.tasks.count
        precondition(tasks.count == T, "one prompts file per task model")
        let maxLength = engine.config.maxPositionEmbeddings
        let V = engine.config.vocabularySize
        let rowBound = tasks.reduce(0) { sum, task in
            sum + task.prompts.reduce(0) { $0 + min(maxNewTokens, maxLength - $1.count) }
        }
        guard rowBound * V * 4 <= evaluator.memoryLimit / 2 else {
            throw AnalysisError.badArgument(
                String(
                    format: "keeping the teachers' logits of up to %d continuation rows × %d vocabulary entries would "
                        + "need %.2f GB; the limit is %.2f GB: give fewer prompts or a smaller --max-new-tokens",
                    rowBound, V, Double(rowBound * V * 4) / 1e9, Double(evaluator.memoryLimit / 2) / 1e9))
        }
        var result = tasks.map { task in task.prompts.map { _ in [Int]() } }
        var rows = tasks.map { task in task.prompts.map { _ in [Float]() } }
        let total = T * maxNewTokens
        for t in 0..<T {
            let point = (0..<T).map { $0 == t ? Float(1) : 0 }
            let limits = tasks[t].prompts.map { min(maxNewTokens, maxLength - $0.count) }
            for step in 0..<maxNewTokens {
                let active = tasks[t].prompts.indices.filter { q in
                    result[t][q].count < limits[q] && !(result[t][q].last.map(endOfSequence.contains) ?? false)
                }
                progress?(t * maxNewTokens + step + 1, total)
                guard !active.isEmpty else { continue }
                // Each prefix as an item whose one "completion" token is its last: the row that predicts the next.
                let items = active.map { q -> EvalItem in
                    let prefix = tasks[t].prompts[q] + result[t][q]
                    return EvalItem(prompt: Array(prefix.dropLast()), completion: [prefix.last!], line: q)
                }
                let plan = try evaluator.plan(engine: engine, points: 1, items: items)
                for range in plan.batches {
                    let batch = PromptBatch(items[range].map(\.tokens))
                    let hidden = try engine.finalHiddenStates(points: [point], batch: batch, groupSize: 1)
                    let last = (0..<range.count).map { batch.offsets[$0] + batch.prompts[$0].count - 1 }
                    var scorer = CompletionScorer(points: 1, gold: last.map { _ in 0 })
                    var block = [Float](repeating: 0, count: range.count * V)
                    do {
                        try engine.projectLogits(points: [point], hiddenStates: hidden, batch: batch, rows: last) {
                            vocabulary, logits in
                            scorer.add(vocabulary, logits)
                            let W = vocabulary.count
                            for k in 0..<range.count {
                                for j in 0..<W { block[k * V + vocabulary.lowerBound + j] = logits[0][k * W + j] }
                            }
                        }
                    } catch let error as TransformerError where error.kind == .nonFinite && error.prompt != nil {
                        let q = active[range.lowerBound + error.prompt!]
                        throw AnalysisError.badArgument(
                            "prompts of '\(tasks[t].name)', \(tasks[t].url.path):\(tasks[t].lines[q]): task model "
                                + "'\(tasks[t].name)' while decoding: \(error.description)", cause: error)
                    }
                    for k in 0..<range.count {
                        let q = active[range.lowerBound + k]
                        result[t][q].append(scorer.argmax(point: 0, row: k))
                        rows[t][q] += block[(k * V)..<((k + 1) * V)]
                    }
                }
            }
        }
        var logits: [Float] = []
        logits.reserveCapacity(rows.reduce(0) { $0 + $1.reduce(0) { $0 + $1.count } })
        for task in rows { for prompt in task { logits += prompt } }
        return Teachers(tokens: result, logits: logits, vocabularySize: V)
    }
}
