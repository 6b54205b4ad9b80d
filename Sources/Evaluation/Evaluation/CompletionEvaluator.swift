import Checkpoints
import Foundation
import SafeTensors
import Statistics
import Transformer

/// Evaluates task files at weight points θ(c) = θ0 + Σ_t c_t τ_t without writing any model: every point goes
/// through the ``LockstepEngine`` together, one batched forward pass per batch of items (all items of all tasks
/// in one batch when it fits ``memoryLimit``), and the logits are computed **only at the completion rows**, one
/// block of vocabulary at a time, reduced as they appear (``CompletionScorer``: running max / log-sum-exp in
/// Float64, the gold logit, the first argmax) — no point's logits are kept.
///
/// **Memory** (``estimatedPeakBytes(points:groupSize:batch:)``): the engine's peak for one batch
/// (``LockstepEngine/estimatedPeakBytes(points:groupSize:batch:logitRows:)`` with R = the batch's completion
/// tokens) plus 40 bytes per (point, completion row) of running reductions. The run picks the largest batch, then
/// the largest lockstep group, that fits; a run that cannot fit even one item with one point per group is refused
/// before it allocates. Inputs are read once per lockstep group per batch.
public struct CompletionEvaluator: Sendable {
    /// The most memory a run may need by the estimate (1.5 GB by default).
    public var memoryLimit: Int = 1_500_000_000

    public init(memoryLimit: Int = 1_500_000_000) {
        self.memoryLimit = memoryLimit
    }

    /// An engine over a single model directory: its own weights, no task vectors (the point is `[]`).
    public static func engine(model: Checkpoint) throws -> LockstepEngine {
        try LockstepEngine(config: TransformerConfig(checkpoint: model), base: CheckpointWeights(model), tasks: [])
    }

    /// An engine over a family: θ0 and the task models, for points c (one coefficient per task model).
    public static func engine(family: ModelFamily) throws -> LockstepEngine {
        var engine = try LockstepEngine(
            config: TransformerConfig(checkpoint: family.base), base: CheckpointWeights(family.base),
            tasks: family.tasks.map(\.weights))
        let inputBytes = family.checkpoints.reduce(0) { sum, checkpoint in
            sum + checkpoint.tensorNames.reduce(0) { $0 + (checkpoint.info($1)?.byteCount ?? 0) }
        }
        engine.evictsInputs = UInt64(inputBytes) > ProcessInfo.processInfo.physicalMemory / 2
        return engine
    }

    /// How a run is laid out.
    public struct Plan: Sendable {
        /// Ranges of the flattened item list (tasks in order), one forward pass each.
        public let batches: [Range<Int>]
        public let groupSize: Int
        public let peakBytes: Int
    }

    /// The estimated peak bytes of one batch.
    public func estimatedPeakBytes(engine: LockstepEngine, points: Int, groupSize: Int, batch: [EvalItem]) -> Int {
        let prompts = PromptBatch(batch.map(\.tokens))
        let rows = batch.reduce(0) { $0 + $1.completion.count }
        return engine.estimatedPeakBytes(points: points, groupSize: groupSize, batch: prompts, logitRows: rows)
            + 40 * points * rows
    }

    /// The largest batches, then lockstep groups, that fit ``memoryLimit``.
    ///
    /// - Throws: ``AnalysisError/badArgument(_:cause:)`` when one item with one point per group does not fit.
    public func plan(engine: LockstepEngine, points: Int, items: [EvalItem]) throws -> Plan {
        let P = max(points, 1)
        var perBatch = max(items.count, 1)
        while true {
            let batches = stride(from: 0, to: items.count, by: perBatch).map { $0..<min($0 + perBatch, items.count) }
            var g = P
            func peak(_ g: Int) -> Int {
                batches.map { estimatedPeakBytes(engine: engine, points: P, groupSize: g, batch: Array(items[$0])) }
                    .max() ?? 0
            }
            while g > 1 && peak(g) > memoryLimit { g = (g + 1) / 2 }
            let bytes = peak(g)
            if bytes <= memoryLimit { return Plan(batches: batches, groupSize: g, peakBytes: bytes) }
            if perBatch == 1 {
                throw AnalysisError.badArgument(
                    String(
                        format: "evaluating %d points would need about %.2f GB for a single item; the limit is %.2f GB",
                        P, Double(bytes) / 1e9, Double(memoryLimit) / 1e9))
            }
            perBatch = (perBatch + 1) / 2
        }
    }

    /// The metrics of every task at every point: result[p][task].
    ///
    /// - Parameters:
    ///   - points: coefficient rows, one coefficient per task model of the engine (`[[]]` for a single model).
    ///   - progress: called with (done, total) steps: a layer of a lockstep group, or a vocabulary block.
    /// - Throws: ``AnalysisError`` for no tasks, a run that does not fit ``memoryLimit``, or non-finite logits
    ///   (naming the task file and line); ``TransformerError`` for bad points or prompts and non-finite weights
    ///   (naming the tensor).
    public func run(
        engine: LockstepEngine, points: [[Float]], tasks: [EvalTask], progress: (@Sendable (Int, Int) -> Void)? = nil
    ) throws -> [[TaskMetrics]] {
        guard !tasks.isEmpty else {
            throw AnalysisError.badArgument("no tasks; give at least one --task NAME=FILE.jsonl")
        }
        guard !points.isEmpty else { return [] }
        let items = tasks.flatMap(\.items)
        let taskOwners = tasks.indices.flatMap { t in tasks[t].items.map { _ in t } }
        // Per point and flattened item: (Σ NLL of its tokens, correct tokens).
        var nllSums = [[Double]](repeating: [Double](repeating: 0, count: items.count), count: points.count)
        var correct = [[Int]](repeating: [Int](repeating: 0, count: items.count), count: points.count)
        try forEachBatch(
            engine: engine, points: points, items: items, progress: progress,
            nonFinite: { index, error in
                // Name the task file and line of the item whose logits are not finite.
                let task = tasks[taskOwners[index]]
                return AnalysisError.badArgument(
                    "task '\(task.name)', \(task.url.path):\(items[index].line): \(error.description)", cause: error)
            }
        ) { batch, project in
            // The gold id of each completion row.
            let gold = batch.rows.indices.map { items[batch.item[$0]].completion[batch.token[$0]] }
            var scorer = CompletionScorer(points: points.count, gold: gold)
            try project { vocabulary, logits in scorer.add(vocabulary, logits) }
            for p in points.indices {
                for r in batch.rows.indices {
                    nllSums[p][batch.item[r]] += scorer.negativeLogLikelihood(point: p, row: r)
                    if scorer.argmax(point: p, row: r) == gold[r] { correct[p][batch.item[r]] += 1 }
                }
            }
        }
        return points.indices.map { p in
            var start = 0
            return tasks.map { task in
                defer { start += task.items.count }
                let range = start..<(start + task.items.count)
                return TaskMetrics(
                    itemNLL: range.map { nllSums[p][$0] / Double(items[$0].completion.count) },
                    itemExact: range.map { correct[p][$0] == items[$0].completion.count },
                    itemCorrectTokens: range.map { correct[p][$0] },
                    completionTokens: task.items.reduce(0) { $0 + $1.completion.count })
            }
        }
    }
}
