import Checkpoints
import Foundation
import Testing
import Transformer

/// The parity checks every architecture test runs against transformers' references (ReferenceSet): the relative
/// error measure, every case through ``CombinedWeights`` one prompt at a time, every case as a lockstep point with
/// all ragged prompts in one batch, and the feature effects the fixture scripts record.
enum ArchitectureParity {
    /// max |Δ| / max |reference| on logits and hidden states.
    static let relativeTolerance: Float = 1e-4

    /// max |output − reference| / max |reference| (the scale floored at the least normal Float).
    static func relativeError(_ output: [Float], _ reference: [Float]) -> Float {
        let scale = reference.reduce(Float(0)) { max($0, abs($1)) }
        return maxAbsoluteDifference(output, reference) / max(scale, .leastNormalMagnitude)
    }

    /// Every case of `references` through ``CombinedWeights``, one prompt at a time: logits and final hidden states
    /// within ``relativeTolerance`` of the case's references.
    static func expectCombinedWeightsMatch(_ set: String, _ references: ReferenceSet, _ config: TransformerConfig)
        throws
    {
        for referenceCase in references.cases {
            let weights = try CombinedWeights(
                base: references.base, tasks: references.tasks, coefficients: referenceCase.coefficients)
            let model = try CausalLanguageModel(config: config, weights: weights)
            for (k, prompt) in references.prompts.enumerated() {
                let output = try model.forward(prompt)
                let logits = relativeError(output.logits, try references.tensor("\(referenceCase.name).p\(k).logits"))
                let hidden = relativeError(
                    output.hiddenStates, try references.tensor("\(referenceCase.name).p\(k).hidden"))
                #expect(logits <= relativeTolerance, "\(set) \(referenceCase.name) p\(k): logits \(logits)")
                #expect(hidden <= relativeTolerance, "\(set) \(referenceCase.name) p\(k): hidden \(hidden)")
            }
        }
    }

    /// The relative logit error of every (case, prompt) of `set`, labelled "set case pN": all cases as lockstep
    /// points in groups of `groupSize`, all ragged prompts in one batch, weight blocks of `blockElements`.
    static func lockstepErrors(_ set: String, blockElements: Int, groupSize: Int) throws -> [(String, Float)] {
        let references = try ReferenceSet(set)
        let config = try TransformerConfig(references.base.config)
        var engine = try LockstepEngine(
            config: config, base: CheckpointWeights(references.base),
            tasks: references.tasks.map { CheckpointWeights($0) })
        engine.blockElements = blockElements
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
                let error = relativeError(
                    Array(logits[p][(rows.lowerBound * V)..<(rows.upperBound * V)]),
                    try references.tensor("\(referenceCase.name).p\(q).logits"))
                errors.append(("\(set) \(referenceCase.name) p\(q)", error))
            }
        }
        return errors
    }

    /// ``lockstepErrors(_:blockElements:groupSize:)`` in groups of 2, each within ``relativeTolerance``.
    static func expectLockstepMatch(_ set: String, blockElements: Int) throws {
        for (label, error) in try lockstepErrors(set, blockElements: blockElements, groupSize: 2) {
            #expect(error <= relativeTolerance, "\(label): logits \(error)")
        }
    }

    /// Every recorded feature effect (how far ignoring the feature moves transformers' logits) is ≥ 100 × the
    /// tolerance, so a recipe step left out fails by orders of magnitude.
    static func expectFeaturesBind(_ set: String, _ effects: [String: Double]) {
        for (feature, change) in effects {
            #expect(change >= 100 * Double(relativeTolerance), "\(set): \(feature) moves the logits by \(change)")
        }
    }
}
