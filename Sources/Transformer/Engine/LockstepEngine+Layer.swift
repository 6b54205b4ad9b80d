import Foundation
import Interruption

/// The one layer loop every architecture of the table runs through. The recipe (``TransformerConfig``: norm kind
/// and placement, attention variant, MLP kind, residual form, RoPE) and the tensor names
/// (``TransformerConfig/layerNaming``) choose each building block's variant once per layer.
extension LockstepEngine {
    /// One layer for every point of the group:
    /// - sequential: x ← x + Attn(norm_in(x)); x ← x + MLP(norm_mlp(x)) (MLP: dense, or routed experts on the
    ///   layers ``MixtureOfExperts`` marks sparse); with sandwich or post-norm placement each block's output is
    ///   normalised before the sum (``attentionBlock(_:_:_:_:_:_:_:_:)``, ``mlpOutput(_:_:_:_:_:_:_:)``);
    /// - parallel: x ← x + Attn(norm_in(x)) + MLP(norm_mlp(x)) (norm_mlp = norm_in when the block has one norm),
    ///   computed as the MLP's hidden activations first (from the layer's input), then attention added onto x,
    ///   then the MLP's output added.
    func layer(
        _ l: Int, _ naming: TensorNaming, _ plan: LayerPlan, _ points: [[Float]], _ views: [CombinedWeights],
        _ acts: [PointActivations], _ batch: PromptBatch, _ scratch: EngineScratch
    ) throws {
        let N = batch.tokenCount
        let inputNorm = naming.layerModule(l, naming.inputNorm)
        let mlpNorm = mlpInputNorm(l, naming)
        if config.parallelResidual {
            try blockInput(mlpNorm, views, acts, rows: N, scratch)
            try mlpHidden(l, naming, points, views, acts, batch, scratch)
            if mlpNorm != inputNorm { try blockInput(inputNorm, views, acts, rows: N, scratch) }
            try attentionBlock(l, naming, plan, points, views, acts, batch, scratch)
            try mlpOutput(l, naming, points, views, acts, batch, scratch)
            return
        }
        try blockInput(inputNorm, views, acts, rows: N, scratch)
        try attentionBlock(l, naming, plan, points, views, acts, batch, scratch)
        try blockInput(mlpNorm, views, acts, rows: N, scratch)
        if let experts = config.experts, experts.isSparse(layer: l) {
            try expertsBlock(TensorNames.Layer(l), experts, points, views, acts, batch, scratch)
        } else {
            try mlpHidden(l, naming, points, views, acts, batch, scratch)
            try mlpOutput(l, naming, points, views, acts, batch, scratch)
        }
    }

    /// The norm module before layer l's MLP: `pre_feedforward_layernorm` in sandwich placement, else the
    /// post-attention norm, else (a parallel block with one norm) the input norm. Unused in post-norm placement.
    private func mlpInputNorm(_ l: Int, _ naming: TensorNaming) -> String {
        let before = config.normPlacement == .sandwich ? naming.preFeedforwardNorm : naming.postAttentionNorm
        return naming.layerModule(l, before ?? naming.inputNorm)
    }
}
