import Foundation
import Interruption

/// The per-layer plan the recipe fixes once per layer: its RoPE tables and attention variant.
struct LayerPlan {
    /// The RoPE table of every prompt of the batch (one shared table unless the RoPE type depends on the length).
    let rotary: [RotaryEmbedding]
    let attention: Kernels.AttentionVariant
}

extension LockstepEngine {
    /// One RoPE table per distinct RoPE of the model (the full layers', and the sliding layers' when they have their
    /// own base; per distinct prompt length for `dynamic`), and the plan of every layer.
    func layerPlans(_ batch: PromptBatch) -> [LayerPlan] {
        let c = config
        let d = c.headDimension
        let r = c.rotatedDimensions
        let full: [RotaryEmbedding]
        if c.ropeScaling.dependsOnPromptLength {
            var byLength: [Int: RotaryEmbedding] = [:]
            for n in Set(batch.prompts.map(\.count)) {
                let (inverse, factor) = c.ropeScaling.frequencies(theta: c.ropeTheta, headDimension: r, promptLength: n)
                byLength[n] = RotaryEmbedding(
                    inverseFrequencies: inverse, attentionScaling: factor, headDimension: d, rotaryDimension: r,
                    tokenCount: n)
            }
            full = batch.prompts.map { byLength[$0.count]! }
        } else {
            let (inverse, factor) = c.ropeScaling.frequencies(theta: c.ropeTheta, headDimension: r)
            let table = RotaryEmbedding(
                inverseFrequencies: inverse, attentionScaling: factor, headDimension: d, rotaryDimension: r,
                tokenCount: batch.longest)
            full = batch.prompts.map { _ in table }
        }
        let sliding = c.slidingRopeTheta.map { theta in
            let table = RotaryEmbedding(theta: theta, headDimension: d, tokenCount: batch.longest)
            return batch.prompts.map { _ in table }
        }
        let scale = c.attentionScale
        let cap = c.attentionSoftCap.map { Float($0) }
        return (0..<c.layerCount).map { layer in
            LayerPlan(
                rotary: c.usesSlidingRope(layer: layer) ? sliding ?? full : full,
                attention: Kernels.AttentionVariant(scale: scale, window: c.window(ofLayer: layer), softCap: cap))
        }
    }

    /// x ← x + Attention(norm(x)) W_oᵀ (+ b_o) — or, in sandwich placement, x ← x + norm_post(Attention(norm(x)) W_oᵀ)
    /// (post-norm: x ← x + norm_post(Attention(x) W_oᵀ); with a residual multiplier m: x ← x + m · …) — for every
    /// point of the group.
    func attentionBlock(
        _ layer: TensorNames.Layer, _ plan: LayerPlan, _ points: [[Float]], _ views: [CombinedWeights],
        _ acts: [PointActivations], _ batch: PromptBatch, _ scratch: EngineScratch
    ) throws {
        let H = config.hiddenSize
        let N = batch.tokenCount
        let qW = config.queryWidth
        let kvW = config.keyValueWidth
        let d = config.headDimension
        try blockInput(layer.inputNorm, views, acts, rows: N, scratch)
        let projections: [(String, Int, KeyPath<PointActivations, UnsafeMutablePointer<Float>>)] = [
            ("q_proj", qW, \.query), ("k_proj", kvW, \.key), ("v_proj", kvW, \.value),
        ]
        for (k, (projection, width, output)) in projections.enumerated() {
            // Fused (Phi-3): q, k, v are rows [0, qW), [qW, qW + kvW), [qW + kvW, qW + 2 kvW) of `qkv_proj`.
            let fused = config.fusedProjections
            try product(
                layer.attention(fused ? "qkv_proj" : projection), firstRow: fused ? [0, qW, qW + kvW][k] : 0,
                outFeatures: width, inFeatures: H, points, rows: N, scratch,
                input: { UnsafePointer(acts[$0].normed) }, output: { acts[$0][keyPath: output] },
                finishesTensor: !fused || k == 2)
            if config.queryKeyValueBias {
                for (p, view) in views.enumerated() {
                    try view.load(layer.attention(projection, "bias"), into: scratch.vector(width))
                    Kernels.addBias(acts[p][keyPath: output], rows: N, width: width, bias: scratch.vectorBase)
                }
            }
        }
        if config.queryKeyNorm {
            // Per head: the [N × heads·d] matrix is [N·heads × d] rows, normalised in place; across heads (OLMo 2):
            // N rows of heads·d.
            let norms: [(String, Int, KeyPath<PointActivations, UnsafeMutablePointer<Float>>)] = [
                ("q_norm", config.attentionHeadCount, \.query), ("k_norm", config.keyValueHeadCount, \.key),
            ]
            let acrossHeads = config.queryKeyNormAcrossHeads
            for (name, heads, target) in norms {
                let (rows, width) = acrossHeads ? (N, heads * d) : (N * heads, d)
                for (p, view) in views.enumerated() {
                    let weight = try normWeight(layer.attention(name), view, width: width, scratch)
                    let x = acts[p][keyPath: target]
                    Kernels.rmsNorm(
                        x, rows: rows, width: width, weight: weight, epsilon: Float(config.rmsNormEpsilon), into: x)
                }
            }
        }
        try scratch.profile.measure("attention") {
            for act in acts {
                try Interruption.check()
                for q in batch.prompts.indices {
                    let rows = batch.rows(of: q)
                    let n = rows.count
                    let o = rows.lowerBound
                    plan.rotary[q].apply(to: act.query + o * qW, rows: n, heads: config.attentionHeadCount)
                    plan.rotary[q].apply(to: act.key + o * kvW, rows: n, heads: config.keyValueHeadCount)
                    Kernels.causalAttention(
                        q: act.query + o * qW, k: act.key + o * kvW, v: act.value + o * kvW, tokenCount: n,
                        heads: config.attentionHeadCount, kvHeads: config.keyValueHeadCount, headDimension: d,
                        variant: plan.attention, scores: scratch.scores, into: act.attention + o * qW)
                }
            }
        }
        let staged = blockOutputIsStaged
        // Pre-norm: o_proj adds straight onto the residual. Sandwich: into `normed`, normalised, then added;
        // with a residual multiplier: into `normed`, scaled, then added.
        try product(
            layer.attention("o_proj"), outFeatures: H, inFeatures: qW, points, rows: N, scratch,
            input: { UnsafePointer(acts[$0].attention) }, output: { staged ? acts[$0].normed : acts[$0].residual },
            accumulate: !staged)
        if config.outputProjectionBias {
            for (p, view) in views.enumerated() {
                try view.load(layer.attention("o_proj", "bias"), into: scratch.vector(H))
                Kernels.addBias(
                    staged ? acts[p].normed : acts[p].residual, rows: N, width: H, bias: scratch.vectorBase)
            }
        }
        if hasOutputNorms {
            try addNormalized(layer.postAttentionNorm, views, acts, rows: N, scratch)
        } else {
            addScaledBlockOutput(acts, rows: N)
        }
    }

    /// x ← x + (act(h W_gateᵀ) ⊙ h W_upᵀ) W_downᵀ with h = norm(x) (act = silu or gelu_tanh) — or, in sandwich
    /// placement, x ← x + norm_post(…) (post-norm: h = x; with a residual multiplier m: x ← x + m · …) — for every
    /// point of the group.
    func mlpBlock(
        _ layer: TensorNames.Layer, _ points: [[Float]], _ views: [CombinedWeights], _ acts: [PointActivations],
        _ batch: PromptBatch, _ scratch: EngineScratch
    ) throws {
        let H = config.hiddenSize
        let I = config.intermediateSize
        let N = batch.tokenCount
        try blockInput(config.mlpInputNorm(layer), views, acts, rows: N, scratch)
        // Fused (Phi-3): gate and up are rows [0, I) and [I, 2I) of `gate_up_proj`.
        let fused = config.fusedProjections
        try product(
            layer.mlp(fused ? "gate_up_proj" : "gate_proj"), outFeatures: I, inFeatures: H, points, rows: N, scratch,
            input: { UnsafePointer(acts[$0].normed) }, output: { acts[$0].gate }, finishesTensor: !fused)
        try product(
            layer.mlp(fused ? "gate_up_proj" : "up_proj"), firstRow: fused ? I : 0, outFeatures: I, inFeatures: H,
            points, rows: N, scratch, input: { UnsafePointer(acts[$0].normed) }, output: { acts[$0].up })
        let gated: (UnsafeMutablePointer<Float>, UnsafePointer<Float>, Int) -> Void =
            switch config.activation {
            case .silu: { Kernels.swiGLU(gate: $0, up: $1, count: $2) }
            case .geluTanh: { Kernels.geluTanhGLU(gate: $0, up: $1, count: $2) }
            case .gelu: { Kernels.geluGLU(gate: $0, up: $1, count: $2) }
            }
        for act in acts {
            try Interruption.check()
            let gate = act.gate, up = act.up
            try Parallel.forEachPart(N * I) { part in
                gated(gate + part.lowerBound, up + part.lowerBound, part.count)
            }
        }
        let staged = blockOutputIsStaged
        try product(
            layer.mlp("down_proj"), outFeatures: H, inFeatures: I, points, rows: N, scratch,
            input: { UnsafePointer(acts[$0].gate) }, output: { staged ? acts[$0].normed : acts[$0].residual },
            accumulate: !staged)
        if hasOutputNorms {
            try addNormalized(layer.postFeedforwardNorm, views, acts, rows: N, scratch)
        } else {
            addScaledBlockOutput(acts, rows: N)
        }
    }

    /// normed_p ← RMSNorm(residual_p) with each point's norm weight `name`, for every point of the group.
    func normalize(
        _ name: String, _ views: [CombinedWeights], _ acts: [PointActivations], rows N: Int, _ scratch: EngineScratch
    ) throws {
        let H = config.hiddenSize
        for (p, view) in views.enumerated() {
            let weight = try normWeight(name, view, width: H, scratch)
            Kernels.rmsNorm(
                acts[p].residual, rows: N, width: H, weight: weight, epsilon: Float(config.rmsNormEpsilon),
                into: acts[p].normed)
        }
    }

    /// residual_p ← residual_p + RMSNorm(normed_p) with norm weight `name` (the sandwich's output norm).
    private func addNormalized(
        _ name: String, _ views: [CombinedWeights], _ acts: [PointActivations], rows N: Int, _ scratch: EngineScratch
    ) throws {
        let H = config.hiddenSize
        for (p, view) in views.enumerated() {
            let weight = try normWeight(name, view, width: H, scratch)
            let normed = acts[p].normed
            Kernels.rmsNorm(
                normed, rows: N, width: H, weight: weight, epsilon: Float(config.rmsNormEpsilon), into: normed)
            Kernels.addInPlace(acts[p].residual, normed, count: N * H)
        }
    }

    /// The point's norm weight `name` in the scratch vector, as the recipe applies it: w, or 1 + w (Float32).
    func normWeight(
        _ name: String, _ view: CombinedWeights, width: Int, _ scratch: EngineScratch
    ) throws -> UnsafePointer<Float> {
        let vector = scratch.vector(width)
        try view.load(name, into: vector)
        if config.normWeight == .onePlusWeight {
            for i in vector.indices { vector[i] = 1 + vector[i] }
        }
        return UnsafePointer(vector.baseAddress!)
    }
}

extension LockstepEngine {
    /// √hiddenSize rounded to Float32, the factor on Gemma's embedding rows (transformers'
    /// `embed_scale = hidden_size ** 0.5` as a float32 tensor).
    var embeddingScale: Float { Float(Double(config.hiddenSize).squareRoot()) }
}
