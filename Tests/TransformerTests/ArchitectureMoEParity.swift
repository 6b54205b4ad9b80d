import Checkpoints
import Testing
import Transformer

/// Lockstep parity for the mixture-of-experts sets: every case of a set as one group of points (all routed in the
/// same pass, each with its own router θ0 + Σ c τ), every ragged prompt in one batch, small weight blocks.
enum ArchitectureMoEParity {
    /// max relative logit error per (case, prompt) against transformers' references.
    static func lockstepErrors(_ set: String, groupSize: Int) throws -> [(String, Float)] {
        let references = try ReferenceSet(set)
        let config = try TransformerConfig(references.base.config)
        var engine = try LockstepEngine(
            config: config, base: CheckpointWeights(references.base),
            tasks: references.tasks.map { CheckpointWeights($0) })
        engine.blockElements = 300  // several blocks per expert matrix
        let points = references.cases.map(\.coefficients)
        let batch = PromptBatch(references.prompts)
        let hidden = try engine.finalHiddenStates(points: points, batch: batch, groupSize: groupSize)
        let V = config.vocabularySize
        var logits = points.map { _ in [Float](repeating: .nan, count: batch.tokenCount * V) }
        try engine.projectLogits(points: points, hiddenStates: hidden, batch: batch, rows: Array(0..<batch.tokenCount))
        { vocabulary, block in
            for p in points.indices {
                for r in 0..<batch.tokenCount {
                    for j in 0..<vocabulary.count {
                        logits[p][r * V + vocabulary.lowerBound + j] = block[p][r * vocabulary.count + j]
                    }
                }
            }
        }
        var errors: [(String, Float)] = []
        for (p, referenceCase) in references.cases.enumerated() {
            for q in references.prompts.indices {
                let rows = batch.rows(of: q)
                let error = ArchitectureParityTests.relativeError(
                    Array(logits[p][(rows.lowerBound * V)..<(rows.upperBound * V)]),
                    try references.tensor("\(referenceCase.name).p\(q).logits"))
                errors.append(("\(set) \(referenceCase.name) p\(q) (group size \(groupSize))", error))
            }
        }
        return errors
    }
}
