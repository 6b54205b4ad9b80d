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
                try projection(
                    naming, naming.layerTensor(l, module), outFeatures: I, inFeatures: H, points, rows: N, scratch,
                    input: { UnsafePointer(acts[$0].normed) }, output: { acts[$0][keyPath: target] })
                if naming.mlpBias {
                    for (p, view) in views.enumerated() {
                        try view.load(naming.layerTensor(l, module, "bias"), into: scratch.vector(I))
                        Kernels.addBias(acts[p][keyPath: target], rows: N, width: I, bias: scratch.vectorBase)
                    }
                }
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
        let H = config.hiddenSize
        let N = batch.tokenCount
        let staged = blockOutputIsStaged
        try projection(
            naming, naming.layerTensor(l, naming.mlpDown), outFeatures: H, inFeatures: config.intermediateSize,
            points, rows: N, scratch, input: { UnsafePointer(acts[$0].gate) },
            output: { staged ? acts[$0].normed : acts[$0].residual }, accumulate: !staged)
        if naming.mlpBias {
            for (p, view) in views.enumerated() {
                try view.load(naming.layerTensor(l, naming.mlpDown, "bias"), into: scratch.vector(H))
                Kernels.addBias(
                    staged ? acts[p].normed : acts[p].residual, rows: N, width: H, bias: scratch.vectorBase)
            }
        }
        if hasOutputNorms, let norm = naming.postFeedforwardNorm {
            try addNormalized(naming.layerModule(l, norm), views, acts, rows: N, scratch)
        } else {
            addScaledBlockOutput(acts, rows: N)
        }
    }
}
