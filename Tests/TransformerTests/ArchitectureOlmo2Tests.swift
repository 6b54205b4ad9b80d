import Checkpoints
import Foundation
import Testing
import Transformer

/// OLMo 2 against transformers 5.23 (scripts/fixtures/make_architecture_fixtures_rms.py, set `olmo2`: post-norms,
/// q/k RMSNorm over the whole projection), and its keys and tensors.
@Suite("Architecture table: OLMo 2")
struct ArchitectureOlmo2Tests {
    @Test("every case through CombinedWeights matches transformers")
    func combinedWeightsMatch() throws { try ArchitectureRMSParity.combinedWeightsMatch("olmo2") }

    @Test("all cases as lockstep points, ragged prompts in one batch, match transformers")
    func lockstepBatchMatches() throws { try ArchitectureRMSParity.lockstepBatchMatches("olmo2") }

    @Test("post-norms and whole-projection q/k norms move transformers' logits far beyond the tolerance")
    func featuresBind() throws {
        try ArchitectureRMSParity.featuresBind(
            "olmo2", expected: ["q/k norms over the whole projection", "post-norms (as pre-norms instead)"])
    }

    @Test("the fixture's recipe; rms_norm_eps defaults to 1e-5 as Olmo2Config's does")
    func keys() throws {
        var json = try ArchitectureConfigTests.json("olmo2")
        let config = try TransformerConfig(json: json)
        #expect(config.architecture == .olmo2 && config.normPlacement == .postNorm)
        #expect(config.queryKeyNorm && config.queryKeyNormAcrossHeads && config.rmsNormEpsilon == 1e-6)
        json["rms_norm_eps"] = nil
        #expect(try TransformerConfig(json: json).rmsNormEpsilon == 1e-5)
    }
}
