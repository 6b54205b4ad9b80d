import Checkpoints
import Foundation
import Testing
import Transformer

/// Granite against transformers 5.23 (scripts/fixtures/make_architecture_fixtures_rms.py, set `granite`:
/// embedding_multiplier 3, residual_multiplier 0.5, attention_multiplier 0.3, logits_scaling 4), and its keys.
@Suite("Architecture table: Granite")
struct ArchitectureGraniteTests {
    @Test("every case through CombinedWeights matches transformers")
    func combinedWeightsMatch() throws { try ArchitectureRMSParity.combinedWeightsMatch("granite") }

    @Test("all cases as lockstep points, ragged prompts in one batch, match transformers")
    func lockstepBatchMatches() throws { try ArchitectureRMSParity.lockstepBatchMatches("granite") }

    @Test("each multiplier moves transformers' logits far beyond the tolerance")
    func featuresBind() throws {
        try ArchitectureRMSParity.featuresBind(
            "granite",
            expected: [
                "embedding_multiplier 3", "residual_multiplier 0.5", "attention_multiplier 0.3 (1/√head_dim instead)",
                "logits_scaling 4",
            ])
    }

    @Test("the fixture's multipliers are read; missing ones default to 1 as GraniteConfig's do")
    func keys() throws {
        var json = try ArchitectureConfigTests.json("granite")
        let config = try TransformerConfig(json: json)
        #expect(config.architecture == .granite)
        #expect(config.embeddingMultiplier == 3 && config.residualMultiplier == 0.5)
        #expect(config.attentionMultiplier == 0.3 && config.logitsScaling == 4)
        #expect(!config.tieWordEmbeddings && config.normPlacement == .preNorm && config.activation == .silu)
        for key in ["embedding_multiplier", "residual_multiplier", "attention_multiplier", "logits_scaling"] {
            json[key] = nil
        }
        let defaults = try TransformerConfig(json: json)
        #expect(defaults.embeddingMultiplier == 1 && defaults.residualMultiplier == 1)
        #expect(defaults.attentionMultiplier == 1 && defaults.logitsScaling == 1)
    }

    @Test("a logits_scaling of 0 or a multiplier that is not a number is refused by name")
    func refusals() throws {
        var json = try ArchitectureConfigTests.json("granite")
        json["logits_scaling"] = .number(0)
        let zero = try #require(throws: TransformerError.self) { try TransformerConfig(json: json) }
        #expect(zero.kind == .badConfig && zero.description.contains("logits_scaling"), "\(zero)")
        json = try ArchitectureConfigTests.json("granite")
        json["residual_multiplier"] = .string("half")
        let text = try #require(throws: TransformerError.self) { try TransformerConfig(json: json) }
        #expect(text.kind == .badConfig && text.description.contains("residual_multiplier"), "\(text)")
    }
}
