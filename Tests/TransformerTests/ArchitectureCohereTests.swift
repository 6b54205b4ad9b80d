import Checkpoints
import Foundation
import Testing
import Transformer

/// Cohere against transformers 5.23 (scripts/fixtures/make_architecture_fixtures_ln.py; base, task_a, task_b):
/// parallel block with one LayerNorm without bias, per-head q/k LayerNorms (use_qk_norm), RoPE on interleaved
/// pairs, SwiGLU, logit_scale 0.25, tied head.
@Suite("Cohere matches transformers")
struct ArchitectureCohereTests {
    @Test("the base on every prompt, all prompts in one batch")
    func base() throws { try LayerNormFamilyParity.checkBase("cohere") }

    @Test("every case (base, task_a, the merge point 0.3 τ_a + 0.7 τ_b) and prompt through CombinedWeights")
    func combinedWeights() throws { try LayerNormFamilyParity.checkCombinedWeights("cohere") }

    @Test("all cases as lockstep points (several blocks per matrix), all ragged prompts in one batch")
    func lockstep() throws { try LayerNormFamilyParity.checkLockstep("cohere") }

    @Test("interleaved RoPE, q/k norms and the LayerNorm mean each move transformers' logits beyond the tolerance")
    func featuresBind() throws { try LayerNormFamilyParity.checkFeatureEffects("cohere") }

    static func fixtureJSON() throws -> [String: JSONValue] {
        try Checkpoint(directory: ReferenceSet.directory.appendingPathComponent("cohere/base")).config.json
    }

    @Test("config.json: parallel, LayerNorm without bias, interleaved RoPE, logit_scale; defaults")
    func config() throws {
        let config = try TransformerConfig(json: Self.fixtureJSON())
        #expect(config.architecture == .cohere && config.naming?.layerPrefix == "model.layers.")
        #expect(config.parallelResidual && config.normKind == .layerNorm(bias: false) && config.interleavedRotary)
        #expect(config.logitScale == 0.25 && config.ropeTheta == 10_000 && config.keyValueHeadCount == 1)
        #expect(config.tieWordEmbeddings && !config.queryKeyValueBias)
        #expect(config.naming?.perHeadQueryNorm == "self_attn.q_norm" && config.naming?.perHeadNormsStacked == true)
        var json = try Self.fixtureJSON()
        json["logit_scale"] = nil
        json["rope_parameters"] = nil
        let defaults = try TransformerConfig(json: json)
        #expect(defaults.logitScale == 0.0625 && defaults.ropeTheta == 500_000)
        json["use_qk_norm"] = nil
        #expect(try TransformerConfig(json: json).naming == .cohere)
        json["logit_scale"] = JSONValue.null
        #expect(try TransformerConfig(json: json).logitScale == nil)
    }

    @Test("the logit scale applies: logits are logit_scale × the unscaled ones")
    func logitScale() throws {
        let references = try ReferenceSet("cohere")
        var config = try TransformerConfig(references.base.config)
        let prompt = references.prompts[0]
        let scaled = try CausalLanguageModel(config: config, weights: CheckpointWeights(references.base))
            .forward(prompt)
        config.logitScale = nil
        let plain = try CausalLanguageModel(config: config, weights: CheckpointWeights(references.base))
            .forward(prompt)
        #expect(zip(scaled.logits, plain.logits).allSatisfy { $0 == $1 * 0.25 })
    }

    @Test("refused by name: another rope_type, a non-finite logit_scale")
    func refusals() throws {
        var json = try Self.fixtureJSON()
        json["logit_scale"] = .number(.infinity)
        #expect(throws: TransformerError.self) { try TransformerConfig(json: json) }
        json["logit_scale"] = nil
        json["rope_parameters"] = .object(["rope_type": .string("yarn"), "factor": .number(2)])
        #expect(throws: TransformerError.self) { try TransformerConfig(json: json) }
    }
}
