import Checkpoints
import Foundation
import Testing
import Transformer

/// Phi-3 against transformers 5.23 (scripts/fixtures/make_architecture_fixtures_rms.py, set `phi3`: fused
/// qkv_proj / gate_up_proj, partial_rotary_factor 0.75, longrope with original_max_position_embeddings 8 so that the
/// 3-token prompt takes the short factors and the 11- and 19-token ones the long factors, sliding_window 5), and its
/// keys.
@Suite("Architecture table: Phi-3")
struct ArchitecturePhi3Tests {
    @Test("every case through CombinedWeights matches transformers")
    func combinedWeightsMatch() throws { try ArchitectureRMSParity.combinedWeightsMatch("phi3") }

    @Test("all cases as lockstep points, ragged prompts (short and long factors) in one batch, match transformers")
    func lockstepBatchMatches() throws { try ArchitectureRMSParity.lockstepBatchMatches("phi3") }

    @Test("longrope's factors and attention factor, partial rotary, the window and the fused halves all bind")
    func featuresBind() throws {
        try ArchitectureRMSParity.featuresBind(
            "phi3",
            expected: [
                "longrope long factors (the short ones for every prompt instead)",
                "longrope short factors (the long ones for every prompt instead)",
                "longrope attention_factor √2 (1 instead)",
                "partial_rotary_factor 0.75 (1 instead, factors padded with 1)", "sliding_window 5",
                "gate_up_proj halves (swapped)",
            ])
    }

    @Test("the fixture's keys: longrope with the defaults factor = 64 / 8 and attention_factor = √(1 + ln 8 / ln 8)")
    func keys() throws {
        let config = try TransformerConfig(json: ArchitectureConfigTests.json("phi3"))
        #expect(config.architecture == .phi3 && config.fusedProjections && config.rotaryDimension == 6)
        #expect(config.slidingWindow == 5 && config.slidingLayers == nil && config.tieWordEmbeddings)
        #expect(config.rmsNormEpsilon == 1e-5 && config.ropeTheta == 10_000)
        #expect(
            config.ropeScaling
                == .longrope(
                    shortFactors: [1, 1.3, 2], longFactors: [1.5, 4, 9], originalMaxPositions: 8,
                    attentionFactor: 2.0.squareRoot()))
    }

    /// transformers 5.23 on this config (Phi3Config.from_dict, then its longrope init at seq_len 12): rope_theta 500,
    /// partial_rotary_factor 0.75, the top-level original_max_position_embeddings 8 (not rope_scaling's 16), so the
    /// long factors and attention factor √(1 + ln 8 / ln 8) = √2.
    @Test("an older config: rope_scaling of type su, top-level rope_theta and partial_rotary_factor")
    func legacyKeys() throws {
        var json = try ArchitectureConfigTests.json("phi3")
        json["rope_parameters"] = nil
        json["rope_theta"] = .number(500)
        json["partial_rotary_factor"] = .number(0.75)
        json["rope_scaling"] = .object([
            "type": .string("su"), "short_factor": .array([.number(1), .number(1), .number(1)]),
            "long_factor": .array([.number(2), .number(2), .number(2)]),
            "original_max_position_embeddings": .number(16),
        ])
        let config = try TransformerConfig(json: json)
        #expect(config.ropeTheta == 500 && config.rotaryDimension == 6)
        #expect(
            config.ropeScaling
                == .longrope(
                    shortFactors: [1, 1, 1], longFactors: [2, 2, 2], originalMaxPositions: 8,
                    attentionFactor: 2.0.squareRoot()))
    }

    struct Refusal: Sendable, CustomTestStringConvertible {
        let label: String
        let rope: [String: JSONValue]
        let kind: TransformerError.Kind
        let mentions: String
        var testDescription: String { label }
    }

    static let longrope: [String: JSONValue] = [
        "rope_type": .string("longrope"), "partial_rotary_factor": .number(0.75),
        "short_factor": .array([.number(1), .number(1), .number(1)]),
        "long_factor": .array([.number(2), .number(2), .number(2)]),
    ]

    static let refusals: [Refusal] = [
        Refusal(
            label: "a long_factor of the wrong length",
            rope: longrope.merging(["long_factor": .array([.number(2), .number(2)])]) { $1 }, kind: .badConfig,
            mentions: "rope_parameters.long_factor has 2 entries; expected 3"),
        Refusal(
            label: "no short_factor", rope: longrope.merging(["short_factor": .null]) { $1 }, kind: .badConfig,
            mentions: "rope_parameters.short_factor"),
        Refusal(
            label: "a zero factor",
            rope: longrope.merging(["short_factor": .array([.number(0), .number(1), .number(1)])]) { $1 },
            kind: .badConfig, mentions: "short_factor entry"),
        Refusal(
            label: "a RoPE type Phi-3 does not have",
            rope: longrope.merging(["rope_type": .string("llama3")]) { $1 }, kind: .unsupportedFeature,
            mentions: "rope_parameters.rope_type llama3"),
        Refusal(
            label: "a partial rotary factor leaving an odd rotary dimension",
            rope: ["rope_type": .string("default"), "partial_rotary_factor": .number(0.375)], kind: .badConfig,
            mentions: "partial_rotary_factor"),
    ]

    @Test("what longrope or partial rotary cannot use is refused by name", arguments: refusals)
    func refusesByName(_ refusal: Refusal) throws {
        var json = try ArchitectureConfigTests.json("phi3")
        json["rope_parameters"] = .object(refusal.rope)
        let error = try #require(throws: TransformerError.self) { try TransformerConfig(json: json) }
        #expect(error.kind == refusal.kind, "\(error)")
        #expect(error.description.contains(refusal.mentions), "\(error)")
    }
}
