import Checkpoints
import Foundation
import Testing
import Transformer

/// GPT-2 against transformers 5.23 (scripts/fixtures/make_architecture_fixtures_ln.py): learned positions,
/// `Conv1D` weights stored `[in, out]`, fused `c_attn`, LayerNorms with bias, gelu_new, tied head; the base, its
/// task model and the point θ0 + 0.3 τ_a.
@Suite("GPT-2 matches transformers")
struct ArchitectureGPT2Tests {
    @Test("every case and prompt through CombinedWeights")
    func combinedWeights() throws { try LayerNormFamilyParity.checkCombinedWeights("gpt2") }

    @Test("all cases as lockstep points, all ragged prompts in one batch (several blocks of Conv1D rows)")
    func lockstep() throws { try LayerNormFamilyParity.checkLockstep("gpt2") }

    @Test("learned positions and the attention scale each move transformers' logits far beyond the tolerance")
    func featuresBind() throws { try LayerNormFamilyParity.checkFeatureEffects("gpt2") }

    static func fixtureJSON() throws -> [String: JSONValue] {
        try Checkpoint(directory: ReferenceSet.directory.appendingPathComponent("gpt2/base")).config.json
    }

    @Test("config.json: GPT-2 keys (n_embd, n_head, n_inner, n_positions), tied head, no RoPE")
    func config() throws {
        let config = try TransformerConfig(json: Self.fixtureJSON())
        #expect(config.architecture == .gpt2 && config.naming == .gpt2 && config.rotaryDimension == 0)
        #expect(config.hiddenSize == 32 && config.intermediateSize == 16 && config.maxPositionEmbeddings == 24)
        #expect(config.normKind == .layerNorm(bias: true) && config.activation == .geluTanh)
        #expect(config.tieWordEmbeddings && config.queryPreAttentionScalar == nil)
        var json = try Self.fixtureJSON()
        json["n_inner"] = nil
        json["scale_attn_weights"] = .bool(false)
        let defaults = try TransformerConfig(json: json)
        #expect(defaults.intermediateSize == 128 && defaults.queryPreAttentionScalar == 1)
    }

    @Test("refused by name: scale_attn_by_inverse_layer_idx, add_cross_attention, an unknown activation")
    func refusals() throws {
        for (key, value) in [
            ("scale_attn_by_inverse_layer_idx", JSONValue.bool(true)), ("add_cross_attention", .bool(true)),
            ("activation_function", .string("relu")),
        ] {
            var json = try Self.fixtureJSON()
            json[key] = value
            #expect(throws: TransformerError.self, "\(key)") { try TransformerConfig(json: json) }
        }
    }

    @Test("a prompt longer than n_positions (the learned positions) is refused")
    func longPromptRefused() throws {
        let references = try ReferenceSet("gpt2")
        let model = try CausalLanguageModel(checkpoint: references.base)
        #expect(throws: TransformerError.self) { try model.forward([Int](repeating: 1, count: 25)) }
        _ = try model.forward([Int](repeating: 1, count: 24))
    }
}
