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

    /// q, k, v from `normed` (with their biases and q/k norms), RoPE, causal attention per prompt, and
    /// x ← x + a W_oᵀ (+ b_o) — in sandwich or post-norm placement x ← x + norm_post(a W_oᵀ (+ b_o)); with a residual
    /// multiplier m: x ← x + m · … — for every point of the group.
    func attentionBlock(
        _ l: Int, _ naming: TensorNaming, _ plan: LayerPlan, _ points: [[Float]], _ views: [CombinedWeights],
        _ acts: [PointActivations], _ batch: PromptBatch, _ scratch: EngineScratch
    ) throws {
        let N = batch.tokenCount
        let qW = config.queryWidth
        let kvW = config.keyValueWidth
        let d = config.headDimension
        try queryKeyValue(l, naming, points, views, acts, rows: N, scratch)
        try queryKeyNorms(l, naming, views, acts, rows: N, scratch)
        let interleaved = config.interleavedRotary
        let heads = config.attentionHeadCount
        let kvHeads = config.keyValueHeadCount
        try scratch.profile.measure("attention") {
            for act in acts {
                try Interruption.check()
                for q in batch.prompts.indices {
                    let rows = batch.rows(of: q)
                    let n = rows.count
                    let o = rows.lowerBound
                    let rotary = plan.rotary[q]
                    rotary.apply(
                        to: act.query + o * qW, rows: n, heads: heads, headStride: d, interleaved: interleaved)
                    rotary.apply(
                        to: act.key + o * kvW, rows: n, heads: kvHeads, headStride: d, interleaved: interleaved)
                    Kernels.causalAttention(
                        q: act.query + o * qW, k: act.key + o * kvW, v: act.value + o * kvW, tokenCount: n,
                        heads: heads, kvHeads: kvHeads, headDimension: d, variant: plan.attention,
                        scores: scratch.scores, into: act.attention + o * qW)
                }
            }
        }
        try addBlockOutput(
            l, naming, naming.attentionOutput, bias: config.outputProjectionBias, inFeatures: qW,
            outputNorm: naming.postAttentionNorm, points, views, acts, rows: N, scratch,
            input: { UnsafePointer(acts[$0].attention) })
    }

    /// query, key, value ← normed · W_q/k/vᵀ (+ biases) for every point, as the naming stores them: three modules,
    /// row ranges of one (Phi-3), heads interleaved in one (GPT-NeoX) or column ranges of one stored `[in, out]`
    /// (GPT-2).
    private func queryKeyValue(
        _ l: Int, _ naming: TensorNaming, _ points: [[Float]], _ views: [CombinedWeights],
        _ acts: [PointActivations], rows N: Int, _ scratch: EngineScratch
    ) throws {
        let H = config.hiddenSize
        let qW = config.queryWidth
        let kvW = config.keyValueWidth
        let d = config.headDimension
        let targets: [KeyPath<PointActivations, UnsafeMutablePointer<Float>>] = [\.query, \.key, \.value]
        // Outputs 0..<qW of a fused module are the queries, then kvW keys, then kvW values.
        let parts = [(0, qW, targets[0]), (qW, kvW, targets[1]), (qW + kvW, kvW, targets[2])]
        switch naming.queryKeyValue {
        case .separate(let q, let k, let v):
            for (module, (width, target)) in zip([q, k, v], zip([qW, kvW, kvW], targets)) {
                try biasedProjection(
                    l, naming, module, bias: config.queryKeyValueBias, outFeatures: width, inFeatures: H, points,
                    views, rows: N, scratch, input: { UnsafePointer(acts[$0].normed) },
                    output: { acts[$0][keyPath: target] })
            }
        case .fusedRows(let module):
            let name = naming.layerTensor(l, module)
            for (k, (first, width, target)) in parts.enumerated() {
                try product(
                    name, firstRow: first, outFeatures: width, inFeatures: H, points, rows: N, scratch,
                    input: { UnsafePointer(acts[$0].normed) }, output: { acts[$0][keyPath: target] },
                    finishesTensor: k == 2)
            }
            try addFusedBias(naming.layerTensor(l, module, "bias"), parts, views, acts, rows: N)
        case .interleavedPerHead(let module):
            // Rows (3h + j)·d ..< (3h + j + 1)·d of the fused weight are part j (q, k, v) of head h.
            let name = naming.layerTensor(l, module)
            weightsAhead(name, points)
            defer { weightsDone(name, points) }
            for h in 0..<config.attentionHeadCount {
                for (j, target) in targets.enumerated() {
                    let first = (3 * h + j) * d
                    try product(
                        name, rows: first..<(first + d), inFeatures: H, points, tokens: N, scratch,
                        input: { UnsafePointer(acts[$0].normed) }, output: { acts[$0][keyPath: target] + h * d },
                        ldc: qW)
                }
            }
            try addInterleavedBias(naming.layerTensor(l, module, "bias"), views, acts, rows: N)
        case .fusedColumns(let module):
            let name = naming.layerTensor(l, module)
            weightsAhead(name, points)
            defer { weightsDone(name, points) }
            if naming.transposedWeights {
                try transposedProduct(
                    name, inFeatures: H, outFeatures: qW + 2 * kvW, points, tokens: N, scratch,
                    input: { UnsafePointer(acts[$0].normed) },
                    outputs: parts.map { first, width, target in
                        (first..<(first + width), width, { acts[$0][keyPath: target] })
                    })
            } else {
                for (first, width, target) in parts {
                    try product(
                        name, rows: first..<(first + width), inFeatures: H, points, tokens: N, scratch,
                        input: { UnsafePointer(acts[$0].normed) }, output: { acts[$0][keyPath: target] }, ldc: width)
                }
            }
            try addFusedBias(naming.layerTensor(l, module, "bias"), parts, views, acts, rows: N)
        }
    }

    /// The q/k/v biases of a fused module whose outputs are the ranges `parts` (queries, keys, values).
    private func addFusedBias(
        _ name: String, _ parts: [(Int, Int, KeyPath<PointActivations, UnsafeMutablePointer<Float>>)],
        _ views: [CombinedWeights], _ acts: [PointActivations], rows N: Int
    ) throws {
        guard config.queryKeyValueBias else { return }
        for (p, view) in views.enumerated() {
            let bias = try view.load(name)
            bias.withUnsafeBufferPointer { bias in
                for (first, width, target) in parts {
                    Kernels.addBias(acts[p][keyPath: target], rows: N, width: width, bias: bias.baseAddress! + first)
                }
            }
        }
    }

    /// q/k/v biases of an interleaved fused projection: entry (3h + j)·d + i goes to part j (q, k, v) of head h.
    private func addInterleavedBias(
        _ name: String, _ views: [CombinedWeights], _ acts: [PointActivations], rows N: Int
    ) throws {
        guard config.queryKeyValueBias else { return }
        let d = config.headDimension
        let qW = config.queryWidth
        let targets: [KeyPath<PointActivations, UnsafeMutablePointer<Float>>] = [\.query, \.key, \.value]
        for (p, view) in views.enumerated() {
            let bias = try view.load(name)
            for h in 0..<config.attentionHeadCount {
                for (j, target) in targets.enumerated() {
                    let y = acts[p][keyPath: target]
                    let offset = (3 * h + j) * d
                    for r in 0..<N {
                        let row = y + r * qW + h * d
                        for i in 0..<d { row[i] += bias[offset + i] }
                    }
                }
            }
        }
    }

    /// The q/k norms after the projections, before RoPE, of the norm kind of the model:
    /// - RMSNorm (Qwen3, Gemma 3: one weight of width head_dim for every head; OLMo 2, ``queryKeyNormAcrossHeads``:
    ///   one over the whole projection), its weight applied as ``TransformerConfig/normWeight`` says;
    /// - LayerNorm without bias, each head with its own weights (StableLM's `qk_layernorm`, one module per head;
    ///   Cohere's `use_qk_norm`, rows of one `[heads, head_dim]` weight, ``TensorNaming/perHeadNormsStacked``).
    private func queryKeyNorms(
        _ l: Int, _ naming: TensorNaming, _ views: [CombinedWeights], _ acts: [PointActivations], rows N: Int,
        _ scratch: EngineScratch
    ) throws {
        let d = config.headDimension
        let norms: [(String?, Int, Int, KeyPath<PointActivations, UnsafeMutablePointer<Float>>)] = [
            (naming.perHeadQueryNorm, config.attentionHeadCount, config.queryWidth, \.query),
            (naming.perHeadKeyNorm, config.keyValueHeadCount, config.keyValueWidth, \.key),
        ]
        let epsilon = Float(config.rmsNormEpsilon)
        for case let (module?, heads, width, target) in norms {
            guard case .layerNorm = config.normKind else {
                // Per head: the [N × heads·d] matrix is [N·heads × d] rows, normalised in place; across heads:
                // N rows of heads·d.
                let (rows, normWidth) = config.queryKeyNormAcrossHeads ? (N, heads * d) : (N * heads, d)
                for (p, view) in views.enumerated() {
                    let weight = try normWeight(naming.layerTensor(l, module), view, width: normWidth, scratch)
                    let x = acts[p][keyPath: target]
                    Kernels.rmsNorm(x, rows: rows, width: normWidth, weight: weight, epsilon: epsilon, into: x)
                }
                continue
            }
            for (p, view) in views.enumerated() {
                let x = acts[p][keyPath: target]
                let stacked = naming.perHeadNormsStacked ? try view.load(naming.layerTensor(l, module)) : []
                for h in 0..<heads {
                    let weight =
                        naming.perHeadNormsStacked
                        ? Array(stacked[(h * d)..<((h + 1) * d)])
                        : try view.load(naming.layerTensor(l, "\(module).\(h)"))
                    for r in 0..<N {
                        let row = x + r * width + h * d
                        Kernels.layerNorm(
                            row, rows: 1, width: d, weight: weight, bias: nil, epsilon: epsilon, into: row)
                    }
                }
            }
        }
    }
}

extension LockstepEngine {
    /// √hiddenSize rounded to Float32, the factor on Gemma's embedding rows (transformers'
    /// `embed_scale = hidden_size ** 0.5` as a float32 tensor).
    var embeddingScale: Float { Float(Double(config.hiddenSize).squareRoot()) }
}
