import Foundation
import Interruption

/// The dense MLP, in two halves so that a parallel block can compute its hidden activations before attention
/// changes the residual stream.
extension LockstepEngine {
    /// gate ← act(h W_gateᵀ) ⊙ h W_upᵀ (gated MLP: SwiGLU, GeGLU; gate and up separate or the two halves of one
    /// `gate_up_proj`) or act(h W_upᵀ + b) (plain MLP), with h = `normed`, for every point of the group.
    func mlpHidden(
        _ l: Int, _ naming: TensorNaming, _ points: [[Float]], _ views: [CombinedWeights],
        _ acts: [PointActivations], _ batch: PromptBatch, _ scratch: EngineScratch
    ) throws {
        let H = config.hiddenSize
        let I = config.intermediateSize
        let N = batch.tokenCount
        if let fused = naming.mlpGateUp {
            // Gate rows [0, I), up rows [I, 2I) of one stored tensor.
            let name = naming.layerTensor(l, fused)
            for (k, target) in [\PointActivations.gate, \PointActivations.up].enumerated() {
                try product(
                    name, firstRow: k * I, outFeatures: I, inFeatures: H, points, rows: N, scratch,
                    input: { UnsafePointer(acts[$0].normed) }, output: { acts[$0][keyPath: target] },
                    finishesTensor: k == 1)
            }
        } else {
            let projections: [(String, KeyPath<PointActivations, UnsafeMutablePointer<Float>>)] =
                naming.mlpGate.map { [($0, \.gate), (naming.mlpUp, \.up)] } ?? [(naming.mlpUp, \.gate)]
            for (module, target) in projections {
                try biasedProjection(
                    l, naming, module, bias: naming.mlpBias, outFeatures: I, inFeatures: H, points, views, rows: N,
                    scratch, input: { UnsafePointer(acts[$0].normed) }, output: { acts[$0][keyPath: target] })
            }
        }
        let gated = naming.mlpGate != nil || naming.mlpGateUp != nil
        let kind = config.activation
        for act in acts {
            try Interruption.check()
            let gate = act.gate, up = act.up
            try Parallel.forEachPart(N * I) { part in
                let g = gate + part.lowerBound
                guard gated else {
                    Kernels.activate(g, count: part.count, kind)
                    return
                }
                switch kind {
                case .silu: Kernels.swiGLU(gate: g, up: up + part.lowerBound, count: part.count)
                case .geluTanh: Kernels.geluTanhGLU(gate: g, up: up + part.lowerBound, count: part.count)
                case .gelu: Kernels.geluGLU(gate: g, up: up + part.lowerBound, count: part.count)
                }
            }
        }
    }

    /// x ← x + gate W_downᵀ (+ b_down) — in sandwich or post-norm placement x ← x + norm_post(…); with a residual
    /// multiplier m: x ← x + m · … — for every point of the group.
    func mlpOutput(
        _ l: Int, _ naming: TensorNaming, _ points: [[Float]], _ views: [CombinedWeights],
        _ acts: [PointActivations], _ batch: PromptBatch, _ scratch: EngineScratch
    ) throws {
        try addBlockOutput(
            l, naming, naming.mlpDown, bias: naming.mlpBias, inFeatures: config.intermediateSize,
            outputNorm: naming.postFeedforwardNorm, points, views, acts, rows: batch.tokenCount, scratch,
            input: { UnsafePointer(acts[$0].gate) })
    }
}
