import Checkpoints
import Foundation
import Testing
import Transformer

/// The architecture table reads each family's config.json keys with transformers 5.23's defaults into the block
/// recipe, and refuses by name what the recipe lacks. Expected values are transformers' (the fixtures' config.json
/// files were written by its `save_pretrained`; the defaults are those of its config classes).
@Suite("Architecture table: config.json keys, defaults and refusals")
struct ArchitectureConfigTests {
    static func json(_ set: String) throws -> [String: JSONValue] { try ReferenceSet.baseConfigJSON(set) }

    @Test("Gemma 2 fixture: sandwich (1 + w) norms, GeGLU, scaled embeddings, soft-caps, alternating windows")
    func gemma2() throws {
        let config = try TransformerConfig(json: Self.json("gemma2"))
        #expect(config.architecture == .gemma2)
        #expect(config.normWeight == .onePlusWeight && config.normPlacement == .sandwich)
        #expect(config.activation == .geluTanh && config.scalesEmbeddings && !config.queryKeyNorm)
        #expect(config.queryPreAttentionScalar == 16 && config.attentionSoftCap == 1.5 && config.finalLogitSoftCap == 3)
        #expect(config.slidingWindow == 4 && config.slidingLayers == [true, false])
        #expect(config.tieWordEmbeddings && config.ropeScaling == .none)
    }

    @Test("Gemma 3 fixture: q/k norms, per-layer-type RoPE (linear on full layers, own base on sliding ones)")
    func gemma3() throws {
        let config = try TransformerConfig(json: Self.json("gemma3"))
        #expect(config.architecture == .gemma3Text && config.queryKeyNorm && config.normWeight == .onePlusWeight)
        #expect(config.ropeTheta == 1e6 && config.ropeScaling == .linear(factor: 4) && config.slidingRopeTheta == 1e4)
        #expect(config.attentionSoftCap == nil && config.finalLogitSoftCap == nil)
        #expect(config.slidingWindow == 4 && config.slidingLayers == [true, false])
    }

    @Test("Qwen3, Llama 3 RoPE, Mistral and Qwen2 windows from their fixtures")
    func otherFixtures() throws {
        let qwen3 = try TransformerConfig(json: Self.json("qwen3"))
        #expect(qwen3.architecture == .qwen3 && qwen3.queryKeyNorm && !qwen3.queryKeyValueBias)
        #expect(qwen3.slidingWindow == 4 && qwen3.slidingLayers == [true, false])
        let llama = try TransformerConfig(json: Self.json("llama3-rope"))
        #expect(
            llama.ropeScaling
                == .llama3(factor: 8, lowFrequencyFactor: 1, highFrequencyFactor: 4, originalMaxPositions: 16))
        let mistral = try TransformerConfig(json: Self.json("mistral-window"))
        #expect(mistral.slidingWindow == 5 && mistral.slidingLayers == nil)
        let qwen2 = try TransformerConfig(json: Self.json("qwen2-window"))
        #expect(qwen2.slidingWindow == 4 && qwen2.slidingLayers == [false, true])
    }

    @Test("defaults of missing keys are transformers' class defaults; null turns a feature off")
    func defaults() throws {
        var gemma2 = try Self.json("gemma2")
        for key in [
            "attn_logit_softcapping", "final_logit_softcapping", "layer_types", "query_pre_attn_scalar",
            "sliding_window", "head_dim", "tie_word_embeddings", "hidden_activation",
        ] {
            gemma2[key] = nil
        }
        gemma2["head_dim"] = .number(8)  // 256 would not fit the weights, but the config alone is read here
        var config = try TransformerConfig(json: gemma2)
        #expect(
            config.attentionSoftCap == 50 && config.finalLogitSoftCap == 30 && config.queryPreAttentionScalar == 256)
        #expect(config.slidingWindow == 4096 && config.slidingLayers == [true, false] && config.tieWordEmbeddings)
        gemma2["head_dim"] = nil
        #expect(try TransformerConfig(json: gemma2).headDimension == 256)
        gemma2["final_logit_softcapping"] = .null
        #expect(try TransformerConfig(json: gemma2).finalLogitSoftCap == nil)

        // Gemma 3 configs of the Hub before transformers 5: rope_theta, rope_scaling, rope_local_base_freq, pattern.
        var gemma3 = try Self.json("gemma3")
        gemma3["rope_parameters"] = nil
        gemma3["layer_types"] = nil
        gemma3["num_hidden_layers"] = .number(7)
        gemma3["sliding_window_pattern"] = .number(3)
        gemma3["rope_theta"] = .number(500_000)
        gemma3["rope_local_base_freq"] = .number(5000)
        gemma3["rope_scaling"] = .object(["rope_type": .string("linear"), "factor": .number(8)])
        config = try TransformerConfig(json: gemma3)
        #expect(config.slidingLayers == [true, true, false, true, true, false, true])
        #expect(
            config.ropeTheta == 500_000 && config.slidingRopeTheta == 5000 && config.ropeScaling == .linear(factor: 8))

        var mistral = try Self.json("mistral-window")
        mistral["sliding_window"] = nil
        #expect(try TransformerConfig(json: mistral).slidingWindow == 4096)
        mistral["sliding_window"] = .null
        #expect(try TransformerConfig(json: mistral).slidingWindow == nil)

        // Qwen2 without layer_types: the layers from max_window_layers on slide (transformers' __post_init__).
        var qwen2 = try Self.json("qwen2-window")
        qwen2["layer_types"] = nil
        #expect(try TransformerConfig(json: qwen2).slidingLayers == [false, true])
        qwen2["max_window_layers"] = .number(2)
        #expect(try TransformerConfig(json: qwen2).slidingWindow == nil)

        var yarn = try Self.json("llama3-rope")
        yarn["rope_parameters"] = .object([
            "rope_type": .string("yarn"), "factor": .number(4), "original_max_position_embeddings": .number(16),
            "rope_theta": .number(10000),
        ])
        let expectedAttention = 0.1 * Foundation.log(4.0) + 1  // transformers' get_mscale(factor)
        #expect(
            try TransformerConfig(json: yarn).ropeScaling
                == .yarn(
                    factor: 4, originalMaxPositions: 16, attentionFactor: expectedAttention, betaFast: 32, betaSlow: 1,
                    truncate: true))
    }

    struct Refusal: Sendable, CustomTestStringConvertible {
        let label: String
        let set: String
        let changes: [String: JSONValue]
        let kind: TransformerError.Kind
        let mentions: String
        var testDescription: String { label }
    }

    static let refusals: [Refusal] = [
        Refusal(
            label: "longrope", set: "llama3-rope",
            changes: ["rope_parameters": .object(["rope_type": .string("longrope"), "factor": .number(2)])],
            kind: .unsupportedFeature, mentions: "rope_type longrope"),
        Refusal(
            label: "dynamic RoPE without its factor", set: "llama3-rope",
            changes: ["rope_parameters": .object(["rope_type": .string("dynamic")])],
            kind: .badConfig, mentions: "rope_parameters.factor"),
        Refusal(
            label: "an unknown rope_type", set: "qwen3",
            changes: ["rope_parameters": .object(["rope_type": .string("mrope")])],
            kind: .unsupportedFeature, mentions: "mrope"),
        Refusal(
            label: "Gemma 3 sliding layers with scaled RoPE", set: "gemma3",
            changes: [
                "rope_parameters": .object([
                    "full_attention": .object(["rope_type": .string("default")]),
                    "sliding_attention": .object(["rope_type": .string("linear"), "factor": .number(2)]),
                ])
            ],
            kind: .unsupportedFeature, mentions: "sliding_attention.rope_type linear"),
        Refusal(
            label: "bidirectional Gemma", set: "gemma3", changes: ["use_bidirectional_attention": .bool(true)],
            kind: .unsupportedFeature, mentions: "use_bidirectional_attention"),
        Refusal(
            label: "an unknown layer type", set: "gemma2",
            changes: ["layer_types": .array([.string("chunked_attention"), .string("full_attention")])],
            kind: .unsupportedFeature, mentions: "chunked_attention"),
        Refusal(
            label: "layer_types of the wrong length", set: "qwen3",
            changes: ["layer_types": .array([.string("full_attention")])], kind: .badConfig, mentions: "layer_types"),
        Refusal(
            label: "Gemma with exact gelu", set: "gemma2", changes: ["hidden_activation": .string("gelu")],
            kind: .unsupportedFeature, mentions: "hidden_activation gelu"),
        Refusal(
            label: "a negative soft-cap", set: "gemma2", changes: ["attn_logit_softcapping": .number(-1)],
            kind: .badConfig, mentions: "attn_logit_softcapping"),
        Refusal(
            label: "the multimodal Gemma 3 wrapper", set: "gemma3",
            changes: [
                "model_type": .string("gemma3"), "architectures": .array([.string("Gemma3ForConditionalGeneration")]),
            ],
            kind: .unsupportedArchitecture, mentions: "gemma3_text"),
    ]

    @Test("what the recipe lacks is refused by name", arguments: refusals)
    func refusesByName(_ refusal: Refusal) throws {
        var json = try Self.json(refusal.set)
        for (key, value) in refusal.changes { json[key] = value }
        let error = try #require(throws: TransformerError.self) { try TransformerConfig(json: json) }
        #expect(error.kind == refusal.kind, "\(error)")
        #expect(error.description.contains(refusal.mentions), "\(error)")
    }
}
