import Checkpoints
import Testing
import Transformer

/// Mixtral against transformers 5.23 (scripts/fixtures/make_architecture_fixtures_moe.py, set "mixtral"): 4 experts,
/// top-2 renormalised routing, a window of 5, router_jitter_noise 0.1 (training only). The script records that
/// routing the joint point by the base's router moves the logits by ~0.27 relative, so a lockstep point routed by any
/// router but its own fails here by orders of magnitude.
@Suite("Mixtral matches transformers")
struct ArchitectureMixtralTests {
    static func json() throws -> [String: JSONValue] {
        try ReferenceSet("mixtral").base.config.json
    }

    @Test("config.json: 4 experts, top-2 renormalised, expert width intermediate_size, window 5, Mixtral names")
    func config() throws {
        let config = try TransformerConfig(json: Self.json())
        #expect(config.architecture == .mixtral)
        let experts = try #require(config.experts)
        #expect(experts.expertCount == 4 && experts.expertsPerToken == 2 && experts.intermediateSize == 16)
        #expect(experts.normalizesTopK && experts.naming == .mixtral && experts.sparseLayers == nil)
        #expect(config.slidingWindow == 5 && config.ropeTheta == 1e6 && !config.queryKeyNorm)
    }

    @Test("defaults: 8 experts, top-2, θ 1e6, no window; num_experts is read as num_local_experts")
    func defaults() throws {
        var json = try Self.json()
        for key in ["num_local_experts", "num_experts_per_tok", "rope_parameters", "sliding_window",
                    "router_jitter_noise"] {
            json[key] = nil
        }
        let config = try TransformerConfig(json: json)
        #expect(config.experts?.expertCount == 8 && config.experts?.expertsPerToken == 2)
        #expect(config.ropeTheta == 1e6 && config.slidingWindow == nil)
        json["num_experts"] = .number(6)
        #expect(try TransformerConfig(json: json).experts?.expertCount == 6)
    }

    @Test(
        "bad expert keys are refused by name",
        arguments: [
            ("num_experts_per_tok", JSONValue.number(5), "num_experts_per_tok (5) exceeds"),
            ("num_experts_per_tok", .number(0), "num_experts_per_tok is 0"),
            ("num_local_experts", .number(0), "num_local_experts is 0"),
            ("num_experts", .number(3), "num_local_experts 4 and num_experts 3"),
            ("router_jitter_noise", .number(-1), "router_jitter_noise is -1"),
            ("router_jitter_noise", .string("x"), "router_jitter_noise is"),
        ])
    func refusals(key: String, value: JSONValue, mentions: String) throws {
        var json = try Self.json()
        json[key] = value
        let error = try #require(throws: TransformerError.self) { try TransformerConfig(json: json) }
        #expect(error.kind == .badConfig, "\(error)")
        #expect(error.description.contains(mentions), "\(error)")
    }

    @Test("the product FLOPs count the router and k experts per token, not a dense MLP (by hand)")
    func productFLOPs() throws {
        let references = try ReferenceSet("mixtral")
        let engine = try LockstepEngine(
            config: TransformerConfig(references.base.config), base: CheckpointWeights(references.base), tasks: [])
        // H 32, q 32, kv 16, 2 layers, V 64, E 4, k 2, expert width 16; one prompt of 3 tokens:
        // 2·3·(2·(32·32 + 2·16·32 + 32·32) + 2·(4·32 + 2·3·16·32) + 64·32) + 2·4·4·3²·8 = 87552 + 2304.
        #expect(engine.productFLOPs(points: 1, batch: PromptBatch([[1, 2, 3]])) == 89856)
    }

    @Test("every case and prompt through CombinedWeights (logits and hidden states)")
    func combinedWeights() throws {
        try ArchitectureParityTests().combinedWeightsMatch(set: "mixtral")
    }

    @Test("the base, a task model and the joint point as lockstep points routed together", arguments: [1, 2, 3])
    func lockstep(groupSize: Int) throws {
        for (label, error) in try ArchitectureMoEParity.lockstepErrors("mixtral", groupSize: groupSize) {
            #expect(error <= ArchitectureParity.relativeTolerance, "\(label): logits \(error)")
        }
    }

    @Test("the features the references exercise move transformers' logits far beyond the tolerance")
    func featuresBind() throws {
        let effects = try ReferenceSet("mixtral").metadata("feature_effects", as: [String: Double].self)
        #expect(effects.keys.contains("routing by the base's router at the joint point"))
        try ArchitectureParityTests().featuresBind(set: "mixtral")
    }
}
