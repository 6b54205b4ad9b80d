import Foundation
import Statistics
import Transformer

extension CompletionEvaluator {
    /// The rows of one forward batch that predict completion tokens (teacher forcing).
    struct CompletionRows {
        /// The batch's range of the flattened items.
        let range: Range<Int>
        /// Indices into the batch's token rows: item by item, the row before each completion token.
        let rows: [Int]
        /// Per row: the flattened index of its item, and the position of its token in the item's completion.
        let item: [Int]
        let token: [Int]
    }

    /// Runs `items` at every point in ``plan(engine:points:items:)``'s batches. Per batch, `body(rows, project)`:
    /// `project(add)` computes the logits of the completion rows for every point one vocabulary block at a time and
    /// hands each block to `add` (as ``LockstepEngine/projectLogits(points:hiddenStates:batch:rows:progress:_:)``);
    /// a non-finite logit is thrown as `nonFinite(item, error)` with the flattened index of its item.
    ///
    /// - Parameter progress: called with (done, total) steps: a layer of a lockstep group, or a vocabulary block.
    func forEachBatch(
        engine: LockstepEngine, points: [[Float]], items: [EvalItem], progress: ((Int, Int) -> Void)?,
        nonFinite: @escaping (Int, TransformerError) -> any Error,
        _ body: (CompletionRows, (_ add: (Range<Int>, [UnsafePointer<Float>]) throws -> Void) throws -> Void) throws
            -> Void
    ) throws {
        let plan = try plan(engine: engine, points: points.count, items: items)
        let groups = (points.count + plan.groupSize - 1) / plan.groupSize
        let blocks = (engine.config.vocabularySize + engine.vocabularyBlockRows - 1) / engine.vocabularyBlockRows
        let layerSteps = groups * engine.config.layerCount
        let perBatch = layerSteps + blocks
        let total = perBatch * plan.batches.count
        for (b, range) in plan.batches.enumerated() {
            let batchItems = Array(items[range])
            let batch = PromptBatch(batchItems.map(\.tokens))
            let offset = b * perBatch
            let hidden = try engine.finalHiddenStates(
                points: points, batch: batch, groupSize: plan.groupSize,
                progress: { done, _ in progress?(offset + done, total) })
            var rows: [Int] = [], item: [Int] = [], token: [Int] = []
            for (q, entry) in batchItems.enumerated() {
                let start = batch.offsets[q] + entry.prompt.count - 1
                for k in entry.completion.indices {
                    rows.append(start + k)
                    item.append(range.lowerBound + q)
                    token.append(k)
                }
            }
            try body(CompletionRows(range: range, rows: rows, item: item, token: token)) { add in
                do {
                    try engine.projectLogits(
                        points: points, hiddenStates: hidden, batch: batch, rows: rows,
                        progress: { done, _ in progress?(offset + layerSteps + done, total) }, add)
                } catch let error as TransformerError where error.kind == .nonFinite && error.prompt != nil {
                    throw nonFinite(range.lowerBound + error.prompt!, error)
                }
            }
        }
    }
}
