import Checkpoints
import Foundation
import Testing
import Transformer

/// The parity checks of ``ArchitectureParityTests`` for the sets of
/// scripts/fixtures/make_architecture_fixtures_rms.py (Granite, OLMo 2, Phi-3): every case through
/// ``CombinedWeights`` one prompt at a time, and every case as a lockstep point with all ragged prompts in one batch
/// (several weight blocks per matrix), against transformers' logits and final hidden states.
enum ArchitectureRMSParity {
    static let relativeTolerance = ArchitectureParityTests.relativeTolerance

    static func combinedWeightsMatch(_ set: String) throws {
        let references = try ReferenceSet(set)
        let config = try TransformerConfig(references.base.config)
        #expect(config.architecture.modelType == (try references.base.config.json["model_type"]?.stringValue))
        for referenceCase in references.cases {
            let weights = try CombinedWeights(
                base: references.base, tasks: references.tasks, coefficients: referenceCase.coefficients)
            let model = try CausalLanguageModel(config: config, weights: weights)
            for (k, prompt) in references.prompts.enumerated() {
                let output = try model.forward(prompt)
                let logits = ArchitectureParityTests.relativeError(
                    output.logits, try references.tensor("\(referenceCase.name).p\(k).logits"))
                let hidden = ArchitectureParityTests.relativeError(
                    output.hiddenStates, try references.tensor("\(referenceCase.name).p\(k).hidden"))
                #expect(logits <= relativeTolerance, "\(set) \(referenceCase.name) p\(k): logits \(logits)")
                #expect(hidden <= relativeTolerance, "\(set) \(referenceCase.name) p\(k): hidden \(hidden)")
            }
        }
    }

    static func lockstepBatchMatches(_ set: String) throws {
        let references = try ReferenceSet(set)
        let config = try TransformerConfig(references.base.config)
        var engine = try LockstepEngine(
            config: config, base: CheckpointWeights(references.base),
            tasks: references.tasks.map { CheckpointWeights($0) })
        engine.blockElements = 500  // several blocks per matrix
        let points = references.cases.map(\.coefficients)
        let batch = PromptBatch(references.prompts)
        let hidden = try engine.finalHiddenStates(points: points, batch: batch, groupSize: 2)
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
        for (p, referenceCase) in references.cases.enumerated() {
            for q in references.prompts.indices {
                let rows = batch.rows(of: q)
                let error = ArchitectureParityTests.relativeError(
                    Array(logits[p][(rows.lowerBound * V)..<(rows.upperBound * V)]),
                    try references.tensor("\(referenceCase.name).p\(q).logits"))
                #expect(error <= relativeTolerance, "\(set) \(referenceCase.name) p\(q): logits \(error)")
            }
        }
    }

    /// Every feature the set names moves transformers' logits ≥ 100 × the tolerance when ignored.
    static func featuresBind(_ set: String, expected: Set<String>) throws {
        let effects = try ReferenceSet(set).metadata("feature_effects", as: [String: Double].self)
        #expect(Set(effects.keys) == expected, "\(set): \(effects.keys.sorted())")
        for (feature, change) in effects {
            #expect(change >= 100 * Double(relativeTolerance), "\(set): \(feature) moves the logits by \(change)")
        }
    }
}

extension JSONValue {
    fileprivate var stringValue: String? {
        if case .string(let text) = self { text } else { nil }
    }
}
