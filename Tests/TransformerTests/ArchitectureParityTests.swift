import Checkpoints
import Foundation
import SafeTensors
import Testing
import Transformer

/// Every architecture of the table against transformers 5.23 (float32, eager attention), on the references of
/// scripts/fixtures/make_architecture_fixtures.py: ragged prompts longer than every sliding window, the base, a
/// task model and a merge point θ0 + 0.3 τ_a + 0.7 τ_b, and (llama3-rope) other RoPE types on the base weights.
/// The script records how far each feature moves the logits when ignored (all ≥ 1e-2 relative), so a recipe step
/// left out fails here by orders of magnitude.
@Suite("Architecture table matches transformers")
struct ArchitectureParityTests {
    static let sets = ["llama3-rope", "mistral-window", "qwen2-window", "qwen3", "gemma2", "gemma3", "tied-head"]

    @Test("every case and prompt, one prompt at a time through CombinedWeights", arguments: sets)
    func combinedWeightsMatch(set: String) throws {
        let references = try ReferenceSet(set)
        let config = try TransformerConfig(references.base.config)
        #expect(Set(references.prompts.map(\.count)).count == references.prompts.count, "ragged prompts")
        try ArchitectureParity.expectCombinedWeightsMatch(set, references, config)
    }

    @Test("all cases as lockstep points, all ragged prompts in one batch", arguments: sets)
    func lockstepBatchMatches(set: String) throws {
        try ArchitectureParity.expectLockstepMatch(set, blockElements: 500)  // several blocks per matrix
    }

    @Test(
        "RoPE types linear, yarn and dynamic (prompts beyond max_position_embeddings 8) on the llama3-rope weights",
        arguments: ["linear", "yarn", "dynamic"])
    func ropeVariantsMatch(variant: String) throws {
        let references = try ReferenceSet("llama3-rope")
        let config = try TransformerConfig(json: references.variantConfig(variant))
        let model = try CausalLanguageModel(config: config, weights: CheckpointWeights(references.base))
        let outputs = try model.forward(batch: references.prompts)
        for (k, output) in outputs.enumerated() {
            let error = ArchitectureParity.relativeError(
                output.logits, try references.tensor("\(variant).p\(k).logits"))
            #expect(error <= ArchitectureParity.relativeTolerance, "\(variant) p\(k): logits \(error)")
        }
    }

    @Test("every feature the references exercise moves transformers' logits far beyond the tolerance", arguments: sets)
    func featuresBind(set: String) throws {
        let references = try ReferenceSet(set)
        let effects = try references.metadata("feature_effects", as: [String: Double].self)
        #expect(set == "tied-head" || !effects.isEmpty)
        ArchitectureParity.expectFeaturesBind(set, effects)
    }
}

extension ReferenceSet {
    /// A metadata entry decoded from JSON.
    func metadata<T: Decodable>(_ key: String, as type: T.Type) throws -> T {
        guard let text = file.metadata[key] else { throw FixtureError("\(name): no metadata \(key)") }
        return try JSONDecoder().decode(T.self, from: Data(text.utf8))
    }

    /// The config.json of a recorded variant (another RoPE type on the base weights).
    func variantConfig(_ variant: String) throws -> [String: JSONValue] {
        let variants = try metadata("variants", as: [Variant].self)
        guard let config = variants.first(where: { $0.name == variant })?.config,
            case .object(let json) = config
        else { throw FixtureError("\(name): no variant \(variant)") }
        return json
    }

    struct Variant: Decodable {
        let name: String
        let config: JSONValue
    }
}
