import Checkpoints
import Foundation
import Testing
import Transformer

@Suite("TransformerConfig from config.json")
struct TransformerConfigTests {
    static func fixtureJSON(_ set: String) throws -> [String: JSONValue] { try ReferenceSet.baseConfigJSON(set) }

    @Test("Qwen2 fixture: GQA, head_dim ≠ hidden/heads, q/k/v biases, tied, rope_parameters.rope_theta")
    func qwen2Fixture() throws {
        let config = try TransformerConfig(json: Self.fixtureJSON("qwen2-gqa"))
        #expect(config.architecture == .qwen2)
        #expect(config.hiddenSize == 48 && config.intermediateSize == 64 && config.layerCount == 2)
        #expect(config.attentionHeadCount == 4 && config.keyValueHeadCount == 2 && config.headDimension == 16)
        #expect(config.vocabularySize == 64 && config.maxPositionEmbeddings == 32)
        #expect(config.rmsNormEpsilon == 1e-6 && config.ropeTheta == 500_000)
        #expect(config.tieWordEmbeddings && config.queryKeyValueBias && !config.outputProjectionBias)
        #expect(config.slidingWindow == nil)
    }

    @Test("Llama fixture: attention_bias puts biases on q/k/v/o; lm_head untied")
    func llamaFixture() throws {
        let config = try TransformerConfig(json: Self.fixtureJSON("llama-bias"))
        #expect(config.architecture == .llama)
        #expect(config.keyValueHeadCount == 1 && config.headDimension == 8 && config.rmsNormEpsilon == 1e-5)
        #expect(!config.tieWordEmbeddings && config.queryKeyValueBias && config.outputProjectionBias)
    }

    @Test("older configs: top-level rope_theta, no head_dim, no num_key_value_heads; Mistral sliding window")
    func defaultsAndOldKeys() throws {
        let json: [String: JSONValue] = [
            "architectures": .array([.string("MistralForCausalLM")]), "model_type": .string("mistral"),
            "hidden_size": .number(64), "intermediate_size": .number(128), "num_hidden_layers": .number(2),
            "num_attention_heads": .number(8), "vocab_size": .number(100), "rope_theta": .number(1_000_000),
            "sliding_window": .number(16), "rope_scaling": .null, "hidden_act": .string("silu"),
        ]
        let config = try TransformerConfig(json: json)
        #expect(config.architecture == .mistral)
        #expect(config.headDimension == 8 && config.keyValueHeadCount == 8)
        #expect(config.ropeTheta == 1_000_000 && config.rmsNormEpsilon == 1e-6)
        #expect(config.maxPositionEmbeddings == 131_072 && !config.tieWordEmbeddings)
        #expect(!config.queryKeyValueBias && !config.outputProjectionBias)
        #expect(config.slidingWindow == 16)
    }

    @Test("Qwen2 sliding window only counts with use_sliding_window and a sliding layer")
    func qwen2SlidingWindow() throws {
        var json = try Self.fixtureJSON("qwen2-gqa")
        json["sliding_window"] = .number(8)
        #expect(try TransformerConfig(json: json).slidingWindow == nil)
        json["use_sliding_window"] = .bool(true)
        #expect(try TransformerConfig(json: json).slidingWindow == nil)  // layer_types all full_attention
        json["layer_types"] = .array([.string("full_attention"), .string("sliding_attention")])
        #expect(try TransformerConfig(json: json).slidingWindow == 8)
    }

    struct Refusal: Sendable, CustomTestStringConvertible {
        let label: String
        let changes: [String: JSONValue]
        let kind: TransformerError.Kind
        let mentions: String
        var testDescription: String { label }
    }

    static let refusals: [Refusal] = [
        Refusal(
            label: "BLOOM",
            changes: ["model_type": .string("bloom"), "architectures": .array([.string("BloomForCausalLM")])],
            kind: .unsupportedArchitecture, mentions: "BloomForCausalLM"),
        Refusal(
            label: "unknown model_type", changes: ["model_type": .string("falcon"), "architectures": .null],
            kind: .unsupportedArchitecture, mentions: "falcon"),
        Refusal(
            label: "sequence classifier",
            changes: ["architectures": .array([.string("Qwen2ForSequenceClassification")])],
            kind: .unsupportedArchitecture, mentions: "Qwen2ForSequenceClassification"),
        Refusal(
            label: "Qwen2-MoE",
            changes: ["model_type": .string("qwen2_moe"), "architectures": .array([.string("Qwen2MoeForCausalLM")])],
            kind: .unsupportedArchitecture, mentions: "Qwen2MoeForCausalLM"),
        Refusal(
            label: "rope_scaling proportional",
            changes: ["rope_scaling": .object(["rope_type": .string("proportional"), "factor": .number(4)])],
            kind: .unsupportedFeature, mentions: "proportional"),
        Refusal(
            label: "rope_scaling longrope (old 'type' key)",
            changes: ["rope_scaling": .object(["type": .string("longrope"), "factor": .number(2)])],
            kind: .unsupportedFeature, mentions: "longrope"),
        Refusal(
            label: "rope_parameters llama3 without its factors",
            changes: ["rope_parameters": .object(["rope_type": .string("llama3"), "rope_theta": .number(500_000)])],
            kind: .badConfig, mentions: "rope_parameters.factor"),
        Refusal(
            label: "MoE num_local_experts", changes: ["num_local_experts": .number(8)],
            kind: .unsupportedFeature, mentions: "num_local_experts"),
        Refusal(
            label: "MoE num_experts", changes: ["num_experts": .number(60)],
            kind: .unsupportedFeature, mentions: "num_experts"),
        Refusal(label: "mlp_bias", changes: ["mlp_bias": .bool(true)], kind: .unsupportedFeature, mentions: "mlp_bias"),
        Refusal(label: "gelu", changes: ["hidden_act": .string("gelu")], kind: .unsupportedFeature, mentions: "gelu"),
        Refusal(
            label: "quantized", changes: ["quantization_config": .object(["quant_method": .string("gptq")])],
            kind: .unsupportedFeature, mentions: "quantization_config"),
        Refusal(label: "no hidden_size", changes: ["hidden_size": .null], kind: .badConfig, mentions: "hidden_size"),
        Refusal(
            label: "heads not a multiple of kv heads", changes: ["num_key_value_heads": .number(3)],
            kind: .badConfig, mentions: "num_key_value_heads"),
        Refusal(label: "odd head_dim", changes: ["head_dim": .number(15)], kind: .badConfig, mentions: "head_dim"),
        Refusal(
            label: "vocab_size as a string", changes: ["vocab_size": .string("64")], kind: .badConfig,
            mentions: "vocab_size"),
        // Found with the config-json fuzz harness: accepted, then `queryWidth` (heads × head_dim) trapped on overflow.
        Refusal(
            label: "heads × head_dim beyond Int",
            changes: ["num_attention_heads": .number(4e9), "head_dim": .number(4e9)],
            kind: .badConfig, mentions: "num_attention_heads (4000000000) × head_dim (4000000000)"),
    ]

    @Test("unsupported or broken configs are refused by name", arguments: refusals)
    func refusesByName(_ refusal: Refusal) throws {
        var json = try Self.fixtureJSON("qwen2-gqa")
        for (key, value) in refusal.changes { json[key] = value }
        let error = try #require(throws: TransformerError.self) { try TransformerConfig(json: json) }
        #expect(error.kind == refusal.kind, "\(error)")
        #expect(error.description.contains(refusal.mentions), "\(error)")
    }
}
