extension LockstepEngine {
    /// Whether each block's output is normalised before the residual sum (`post_attention_layernorm`,
    /// `post_feedforward_layernorm`): sandwich placement (Gemma) and post-norm placement (OLMo 2).
    var hasOutputNorms: Bool {
        config.normPlacement == .sandwich || config.normPlacement == .postNorm
    }

    /// normed_p ← the input of a block: RMSNorm(residual_p) with norm weight `name`, or, in post-norm placement
    /// (OLMo 2: no norm before a block), residual_p itself.
    func blockInput(
        _ name: String, _ views: [CombinedWeights], _ acts: [PointActivations], rows N: Int, _ scratch: EngineScratch
    ) throws {
        guard config.normPlacement == .postNorm else {
            try normalize(name, views, acts, rows: N, scratch)
            return
        }
        for act in acts { act.normed.update(from: act.residual, count: N * config.hiddenSize) }
    }
}
