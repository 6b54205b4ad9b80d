extension LockstepEngine {
    /// Whether a block's output goes through `normed` before reaching the residual stream: with output norms
    /// (normalised there) or with a residual multiplier (scaled there), rather than accumulated straight onto it.
    var blockOutputIsStaged: Bool {
        hasOutputNorms || config.residualMultiplier != nil
    }

    /// residual_p ← residual_p + m · normed_p with m = `residual_multiplier` (Granite), for every point of the group.
    func addScaledBlockOutput(_ acts: [PointActivations], rows N: Int) {
        guard let multiplier = config.residualMultiplier else { return }
        let factor = Float(multiplier)
        for act in acts {
            Kernels.addScaled(act.residual, UnsafePointer(act.normed), count: N * config.hiddenSize, by: factor)
        }
    }
}
