import Checkpoints
import Foundation
import Testing
import Transformer

/// StableLM against transformers 5.23 (scripts/fixtures/make_architecture_fixtures_ln.py): the sequential set
/// with q/k/v biases and GQA at merge points, and the parallel set with per-head q/k LayerNorms on its base.
@Suite("StableLM matches transformers")
struct ArchitectureStableLMTests {
    @Test("every case and prompt through CombinedWeights", arguments: ["stablelm", "stablelm-parallel"])
    func combinedWeights(set: String) throws {
        if set == "stablelm" {
            try LayerNormFamilyParity.checkCombinedWeights(set)
        } else {
            try LayerNormFamilyParity.checkBase(set)
        }
    }

    @Test("all cases as lockstep points, all ragged prompts in one batch", arguments: ["stablelm", "stablelm-parallel"])
    func lockstep(set: String) throws { try LayerNormFamilyParity.checkLockstep(set) }

    @Test(
        "partial rotary, the parallel block and the per-head q/k LayerNorms each move transformers' logits",
        arguments: ["stablelm", "stablelm-parallel"])
    func featuresBind(set: String) throws { try LayerNormFamilyParity.checkFeatureEffects(set) }

    static func fixtureJSON(_ set: String) throws -> [String: JSONValue] {
        try Checkpoint(directory: ReferenceSet.directory.appendingPathComponent("\(set)/base")).config.json
    }

    @Test("config.json: LayerNorm, 2 of 8 rotary dims, q/k/v biases, GQA; parallel + qk_layernorm names")
    func config() throws {
        let sequential = try TransformerConfig(json: Self.fixtureJSON("stablelm"))
        #expect(sequential.architecture == .stableLM && sequential.normKind == .layerNorm(bias: true))
        #expect(!sequential.parallelResidual && sequential.rotaryDimension == 2 && sequential.queryKeyValueBias)
        #expect(!sequential.outputProjectionBias && sequential.keyValueHeadCount == 2 && sequential.activation == .silu)
        #expect(sequential.naming == .stableLM)
        let parallel = try TransformerConfig(json: Self.fixtureJSON("stablelm-parallel"))
        #expect(parallel.parallelResidual && parallel.naming?.postAttentionNorm == nil)
        #expect(parallel.naming?.perHeadQueryNorm == "self_attn.q_layernorm.norms")
    }

    @Test("older keys: top-level partial_rotary_factor and rope_theta; default factor 0.25; refusals by name")
    func keys() throws {
        var json = try Self.fixtureJSON("stablelm")
        json["rope_parameters"] = nil
        #expect(try TransformerConfig(json: json).rotaryDimension == 2)
        json["partial_rotary_factor"] = .number(0.5)
        json["rope_theta"] = .number(500)
        let config = try TransformerConfig(json: json)
        #expect(config.rotaryDimension == 4 && config.ropeTheta == 500)
        json["rope_scaling"] = .object(["rope_type": .string("linear"), "factor": .number(2)])
        #expect(throws: TransformerError.self) { try TransformerConfig(json: json) }
        json["rope_scaling"] = nil
        json["partial_rotary_factor"] = .number(0.375)
        #expect(throws: TransformerError.self) { try TransformerConfig(json: json) }
    }
}
