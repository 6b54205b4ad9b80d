import Checkpoints
import Foundation
import SafeTensors
import Testing
import Transformer

/// Parity of the LayerNorm rows of the table (arch-ln) with transformers 5.23, on the references of
/// scripts/fixtures/make_architecture_fixtures_ln.py: every case through ``CombinedWeights`` one prompt at a time,
/// and all cases as lockstep points over one ragged batch.
enum LayerNormFamilyParity {
    static func checkCombinedWeights(_ set: String) throws {
        let references = try ReferenceSet(set)
        let config = try TransformerConfig(references.base.config)
        #expect(Set(references.prompts.map(\.count)).count == references.prompts.count, "ragged prompts")
        #expect(references.cases.count == 3)
        try ArchitectureParity.expectCombinedWeightsMatch(set, references, config)
    }

    /// A base-only set: its "alpha0" logits and hidden states, all prompts in one batch through the model.
    static func checkBase(_ set: String) throws {
        let references = try ReferenceSet(set)
        let config = try TransformerConfig(references.base.config)
        let model = try CausalLanguageModel(config: config, weights: CheckpointWeights(references.base))
        for (k, output) in try model.forward(batch: references.prompts).enumerated() {
            let logits = ArchitectureParity.relativeError(output.logits, try references.tensor("alpha0.p\(k).logits"))
            let hidden = ArchitectureParity.relativeError(
                output.hiddenStates, try references.tensor("alpha0.p\(k).hidden"))
            #expect(logits <= ArchitectureParity.relativeTolerance, "\(set) p\(k): logits \(logits)")
            #expect(hidden <= ArchitectureParity.relativeTolerance, "\(set) p\(k): hidden \(hidden)")
        }
    }

    static func checkLockstep(_ set: String) throws {
        // several blocks per matrix, and per head part of a fused one
        try ArchitectureParity.expectLockstepMatch(set, blockElements: 100)
    }

    static func checkFeatureEffects(_ set: String) throws {
        let references = try ReferenceSet(set)
        let text = try #require(references.file.metadata["feature_effects"])
        let effects = try JSONDecoder().decode([String: Double].self, from: Data(text.utf8))
        #expect(!effects.isEmpty)
        ArchitectureParity.expectFeaturesBind(set, effects)
    }
}

@Suite("GPT-NeoX matches transformers")
struct ArchitectureGPTNeoXTests {
    @Test("every case and prompt through CombinedWeights (parallel residual, partial rotary, fused interleaved qkv)")
    func combinedWeights() throws { try LayerNormFamilyParity.checkCombinedWeights("gpt-neox") }

    @Test("all cases as lockstep points, all ragged prompts in one batch")
    func lockstep() throws { try LayerNormFamilyParity.checkLockstep("gpt-neox") }

    @Test("use_parallel_residual false (sequential block) on the base weights")
    func sequentialVariant() throws {
        let references = try ReferenceSet("gpt-neox")
        let config = try TransformerConfig(json: references.variantConfig("sequential"))
        #expect(!config.parallelResidual)
        let model = try CausalLanguageModel(config: config, weights: CheckpointWeights(references.base))
        for (k, output) in try model.forward(batch: references.prompts).enumerated() {
            let error = ArchitectureParity.relativeError(
                output.logits, try references.tensor("sequential.p\(k).logits"))
            #expect(error <= ArchitectureParity.relativeTolerance, "sequential p\(k): logits \(error)")
        }
    }

    @Test("parallel residual and partial rotary each move transformers' logits far beyond the tolerance")
    func featuresBind() throws { try LayerNormFamilyParity.checkFeatureEffects("gpt-neox") }

    static func fixtureJSON() throws -> [String: JSONValue] {
        try Checkpoint(directory: ReferenceSet.directory.appendingPathComponent("gpt-neox/base")).config.json
    }

    @Test("config.json: LayerNorm, parallel residual, 2 of 8 rotary dims, biases, exact gelu, GPT-NeoX names")
    func config() throws {
        let config = try TransformerConfig(json: Self.fixtureJSON())
        #expect(config.architecture == .gptNeoX && config.naming == .gptNeoX)
        #expect(config.normKind == .layerNorm(bias: true) && config.rmsNormEpsilon == 1e-5)
        #expect(config.parallelResidual && config.rotaryDimension == 2 && config.ropeTheta == 10_000)
        #expect(config.queryKeyValueBias && config.outputProjectionBias && config.activation == .gelu)
        #expect(config.keyValueHeadCount == 4 && config.headDimension == 8 && !config.tieWordEmbeddings)
    }

    @Test("Pythia's older keys: rotary_pct, rotary_emb_base; defaults parallel residual and rotary_pct 0.25")
    func legacyKeys() throws {
        var json = try Self.fixtureJSON()
        json["rope_parameters"] = nil
        json["use_parallel_residual"] = nil
        #expect(try TransformerConfig(json: json).rotaryDimension == 2)
        #expect(try TransformerConfig(json: json).parallelResidual)
        json["rotary_pct"] = .number(0.5)
        json["rotary_emb_base"] = .number(500)
        let config = try TransformerConfig(json: json)
        #expect(config.rotaryDimension == 4 && config.ropeTheta == 500)
    }

    @Test("refused by name: another rope_type, an odd rotary dimension, an unknown activation")
    func refusals() throws {
        var json = try Self.fixtureJSON()
        json["rope_parameters"] = .object(["rope_type": .string("linear"), "factor": .number(2)])
        #expect(throws: TransformerError.self) { try TransformerConfig(json: json) }
        json["rope_parameters"] = .object(["partial_rotary_factor": .number(0.375)])
        #expect(throws: TransformerError.self) { try TransformerConfig(json: json) }
        json["rope_parameters"] = nil
        json["hidden_act"] = .string("relu")
        #expect(throws: TransformerError.self) { try TransformerConfig(json: json) }
    }
}
