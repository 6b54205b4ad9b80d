import Checkpoints
import Foundation
import Testing
import Transformer

/// The parity checks of ``ArchitectureParityTests`` for the sets of
/// scripts/fixtures/make_architecture_fixtures_rms.py (Granite, OLMo 2, Phi-3): every case through
/// ``CombinedWeights`` one prompt at a time, and every case as a lockstep point with all ragged prompts in one batch
/// (several weight blocks per matrix), against transformers' logits and final hidden states.
enum ArchitectureRMSParity {
    static func combinedWeightsMatch(_ set: String) throws {
        let references = try ReferenceSet(set)
        let config = try TransformerConfig(references.base.config)
        #expect(config.architecture.modelType == (try references.base.config.json["model_type"]?.stringValue))
        try ArchitectureParity.expectCombinedWeightsMatch(set, references, config)
    }

    static func lockstepBatchMatches(_ set: String) throws {
        try ArchitectureParity.expectLockstepMatch(set, blockElements: 500)  // several blocks per matrix
    }

    /// Every feature the set names moves transformers' logits ≥ 100 × the tolerance when ignored.
    static func featuresBind(_ set: String, expected: Set<String>) throws {
        let effects = try ReferenceSet(set).metadata("feature_effects", as: [String: Double].self)
        #expect(Set(effects.keys) == expected, "\(set): \(effects.keys.sorted())")
        ArchitectureParity.expectFeaturesBind(set, effects)
    }
}

extension JSONValue {
    fileprivate var stringValue: String? {
        if case .string(let text) = self { text } else { nil }
    }
}
