import Checkpoints
import Testing
import Transformer

/// Qwen3-MoE against transformers 5.23 (scripts/fixtures/make_architecture_fixtures_moe.py, set "qwen3-moe"):
/// 4 experts of width 16, top-2 without renormalisation (and, on the same weights, the "norm_topk_prob" variant),
/// layer 1 a dense MLP of width 8 (`mlp_only_layers` [1]; narrower than the experts, whose activations then have
/// buffers of their own), q/k norms, a window of 4 on every layer.
@Suite("Qwen3-MoE matches transformers")
struct ArchitectureQwen3MoeTests {
    static func json() throws -> [String: JSONValue] {
        try ReferenceSet("qwen3-moe").base.config.json
    }

    @Test("config.json: experts on layer 0 only, top-2 not renormalised, moe_intermediate_size, window on every layer")
    func config() throws {
        let config = try TransformerConfig(json: Self.json())
        #expect(config.architecture == .qwen3Moe)
        let experts = try #require(config.experts)
        #expect(experts.expertCount == 4 && experts.expertsPerToken == 2 && experts.intermediateSize == 16)
        #expect(!experts.normalizesTopK && experts.naming == .qwen && experts.sparseLayers == [true, false])
        #expect(config.intermediateSize == 8 && config.queryKeyNorm && !config.queryKeyValueBias)
        #expect(config.slidingWindow == 4 && config.slidingLayers == nil)
    }

    @Test("decoder_sparse_step and mlp_only_layers choose the sparse layers as transformers does")
    func sparseLayers() throws {
        var json = try Self.json()
        json["mlp_only_layers"] = nil
        #expect(try TransformerConfig(json: json).experts?.sparseLayers == nil)  // every layer
        json["decoder_sparse_step"] = .number(2)
        #expect(try TransformerConfig(json: json).experts?.sparseLayers == [false, true])  // (ℓ + 1) % 2 == 0
        json["mlp_only_layers"] = .array([.number(1), .number(7)])
        #expect(try TransformerConfig(json: json).experts == nil)  // no sparse layer left: dense everywhere
        json["decoder_sparse_step"] = nil
        json["num_local_experts"] = .number(0)
        #expect(try TransformerConfig(json: json).experts == nil)  // num_experts 0: dense MLPs
        json["decoder_sparse_step"] = .number(0)
        let error = try #require(throws: TransformerError.self) { try TransformerConfig(json: json) }
        #expect(error.kind == .badConfig && error.description.contains("decoder_sparse_step is 0"), "\(error)")
        json["decoder_sparse_step"] = nil
        json["mlp_only_layers"] = .string("1")
        let listError = try #require(throws: TransformerError.self) { try TransformerConfig(json: json) }
        #expect(listError.description.contains("mlp_only_layers"), "\(listError)")
    }

    @Test("defaults: 128 experts, top-8, width 768, not renormalised, no window unless use_sliding_window")
    func defaults() throws {
        var json = try Self.json()
        for key in ["num_local_experts", "num_experts_per_tok", "moe_intermediate_size", "norm_topk_prob",
                    "use_sliding_window", "mlp_only_layers"] {
            json[key] = nil
        }
        let config = try TransformerConfig(json: json)
        let experts = try #require(config.experts)
        #expect(experts.expertCount == 128 && experts.expertsPerToken == 8 && experts.intermediateSize == 768)
        #expect(!experts.normalizesTopK && config.slidingWindow == nil)
    }

    @Test("every case and prompt through CombinedWeights (logits and hidden states)")
    func combinedWeights() throws {
        try ArchitectureParityTests().combinedWeightsMatch(set: "qwen3-moe")
    }

    @Test("the base, a task model and the joint point as lockstep points routed together", arguments: [1, 3])
    func lockstep(groupSize: Int) throws {
        for (label, error) in try ArchitectureMoEParity.lockstepErrors("qwen3-moe", groupSize: groupSize) {
            #expect(error <= ArchitectureParity.relativeTolerance, "\(label): logits \(error)")
        }
    }

    @Test("norm_topk_prob true on the same weights renormalises the top-k weights as transformers does")
    func normalizedTopK() throws {
        let references = try ReferenceSet("qwen3-moe")
        let config = try TransformerConfig(json: references.variantConfig("norm_topk_prob"))
        #expect(config.experts?.normalizesTopK == true)
        let model = try CausalLanguageModel(config: config, weights: CheckpointWeights(references.base))
        for (k, output) in try model.forward(batch: references.prompts).enumerated() {
            let error = ArchitectureParity.relativeError(
                output.logits, try references.tensor("norm_topk_prob.p\(k).logits"))
            #expect(error <= ArchitectureParity.relativeTolerance, "norm_topk_prob p\(k): logits \(error)")
        }
    }

    @Test("another architecture with experts is refused, naming the two that implement them")
    func expertsElsewhereAreRefused() throws {
        var json = try Self.json()
        json["model_type"] = .string("qwen3")
        json["architectures"] = .array([.string("Qwen3ForCausalLM")])
        let error = try #require(throws: TransformerError.self) { try TransformerConfig(json: json) }
        #expect(error.kind == .unsupportedFeature, "\(error)")
        #expect(error.description.contains("implemented for model_type mixtral and qwen3_moe only"), "\(error)")
    }

    @Test("the features the references exercise move transformers' logits far beyond the tolerance")
    func featuresBind() throws {
        let effects = try ReferenceSet("qwen3-moe").metadata("feature_effects", as: [String: Double].self)
        #expect(effects.keys.contains("routing by the base's router at the joint point"))
        try ArchitectureParityTests().featuresBind(set: "qwen3-moe")
    }
}
