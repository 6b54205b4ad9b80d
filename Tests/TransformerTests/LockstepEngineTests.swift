import Checkpoints
import Foundation
import Testing
import Transformer

/// The lockstep engine against transformers: every reference case (θ0 + Σ c_t τ_t) as one point of a single
/// lockstep run, every reference prompt (ragged lengths) in one batch; logits and final hidden states per prompt
/// must match transformers' per-prompt outputs (scripts/fixtures/make_transformer_fixtures.py) within the forward
/// pass's tolerance.
@Suite("Lockstep engine matches transformers")
struct LockstepEngineTests {
    @Test("all points in lockstep, all prompts in one batch", arguments: ["qwen2-gqa", "llama-bias"], [1, 2, 100])
    func lockstepMatchesReferences(set: String, groupSize: Int) throws {
        let references = try ReferenceSet(set)
        let config = try TransformerConfig(references.base.config)
        var engine = try LockstepEngine(
            config: config, base: CheckpointWeights(references.base),
            tasks: references.tasks.map { CheckpointWeights($0) })
        engine.blockElements = 700  // many blocks per matrix, rows not a divisor of the width
        let points = references.cases.map(\.coefficients)
        let batch = PromptBatch(references.prompts)
        #expect(Set(references.prompts.map(\.count)).count > 1, "the prompts should be ragged")
        let hidden = try engine.finalHiddenStates(points: points, batch: batch, groupSize: groupSize)
        let V = config.vocabularySize
        let H = config.hiddenSize
        var logits = points.map { _ in [Float](repeating: .nan, count: batch.tokenCount * V) }
        try engine.projectLogits(points: points, hiddenStates: hidden, batch: batch, rows: Array(0..<batch.tokenCount))
        {
            vocabulary, block in
            for p in points.indices {
                for r in 0..<batch.tokenCount {
                    for j in 0..<vocabulary.count {
                        logits[p][r * V + vocabulary.lowerBound + j] = block[p][r * vocabulary.count + j]
                    }
                }
            }
        }
        for (p, referenceCase) in references.cases.enumerated() {
            for q in references.prompts.indices {
                let rows = batch.rows(of: q)
                let logitError = maxAbsoluteDifference(
                    logits[p][(rows.lowerBound * V)..<(rows.upperBound * V)],
                    try references.tensor("\(referenceCase.name).p\(q).logits"))
                let hiddenError = maxAbsoluteDifference(
                    hidden[p][(rows.lowerBound * H)..<(rows.upperBound * H)],
                    try references.tensor("\(referenceCase.name).p\(q).hidden"))
                #expect(
                    logitError <= ReferenceParityTests.tolerance,
                    "\(set) \(referenceCase.name) prompt \(q): logits \(logitError)")
                #expect(
                    hiddenError <= ReferenceParityTests.tolerance,
                    "\(set) \(referenceCase.name) prompt \(q): hidden \(hiddenError)")
            }
        }
    }

    @Test func badPointsAndPromptsAreRefused() throws {
        let references = try ReferenceSet("llama-bias")
        let config = try TransformerConfig(references.base.config)
        let engine = try LockstepEngine(
            config: config, base: CheckpointWeights(references.base),
            tasks: references.tasks.map { CheckpointWeights($0) })
        let batch = PromptBatch([[1, 2, 3]])
        #expect(throws: TransformerError.self) {
            try engine.finalHiddenStates(points: [[0]], batch: batch, groupSize: 1)
        }
        #expect(throws: TransformerError.self) {
            try engine.finalHiddenStates(points: [[.nan, 0]], batch: batch, groupSize: 1)
        }
        #expect(throws: TransformerError.self) {
            try engine.finalHiddenStates(points: [[0, 0]], batch: PromptBatch([[1], []]), groupSize: 1)
        }
        #expect(throws: TransformerError.self) {
            try engine.finalHiddenStates(points: [[0, 0]], batch: PromptBatch([]), groupSize: 1)
        }
    }
}
