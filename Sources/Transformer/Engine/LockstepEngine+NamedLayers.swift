import Foundation
import Interruption

/// The layers of architectures with a ``TensorNaming`` (GPT-NeoX, …): LayerNorm or RMSNorm, fused or separate
/// q/k/v, partial rotary, plain or gated MLP with biases, sequential or parallel residual. Every variant is
/// chosen once per layer.
extension LockstepEngine {
    /// One layer for every point of the group:
    /// - sequential: x ← x + Attn(norm_in(x)); x ← x + MLP(norm_post(x));
    /// - parallel: x ← x + Attn(norm_in(x)) + MLP(norm_post(x)) (norm_post = norm_in when the block has one norm),
    ///   computed as the MLP's hidden activations first (from the layer's input), then attention added onto x,
    ///   then the MLP's output added.
    func namedLayer(
        _ l: Int, _ naming: TensorNaming, _ plan: LayerPlan, _ points: [[Float]], _ views: [CombinedWeights],
        _ acts: [PointActivations], _ batch: PromptBatch, _ scratch: EngineScratch
    ) throws {
        let N = batch.tokenCount
        let inputNorm = naming.layerPrefix + "\(l)." + naming.inputNorm
        let mlpNorm = naming.postAttentionNorm.map { naming.layerPrefix + "\(l)." + $0 } ?? inputNorm
        if config.parallelResidual {
            try applyNorm(mlpNorm, views, acts, rows: N)
            try mlpHidden(l, naming, points, views, acts, batch, scratch)
            if mlpNorm != inputNorm { try applyNorm(inputNorm, views, acts, rows: N) }
            try namedAttention(l, naming, plan, points, views, acts, batch, scratch)
            try mlpOutput(l, naming, points, views, acts, batch, scratch)
        } else {
            try applyNorm(inputNorm, views, acts, rows: N)
            try namedAttention(l, naming, plan, points, views, acts, batch, scratch)
            try applyNorm(mlpNorm, views, acts, rows: N)
            try mlpHidden(l, naming, points, views, acts, batch, scratch)
            try mlpOutput(l, naming, points, views, acts, batch, scratch)
        }
    }

    /// normed_p ← norm(residual_p) with each point's weights of norm module `module` (LayerNorm or RMSNorm).
    func applyNorm(_ module: String, _ views: [CombinedWeights], _ acts: [PointActivations], rows N: Int) throws {
        for (p, view) in views.enumerated() {
            try applyNorm(module, view, acts[p].residual, rows: N, into: acts[p].normed)
        }
    }

    /// out ← norm(x) over `rows` rows of width H with the point's weights of norm module `module`.
    func applyNorm(
        _ module: String, _ view: CombinedWeights, _ x: UnsafePointer<Float>, rows N: Int,
        into out: UnsafeMutablePointer<Float>
    ) throws {
        let H = config.hiddenSize
        var weight = try view.load(module + ".weight")
        switch config.normKind {
        case .rms:
            if config.normWeight == .onePlusWeight { weight = weight.map { 1 + $0 } }
            Kernels.rmsNorm(x, rows: N, width: H, weight: weight, epsilon: Float(config.rmsNormEpsilon), into: out)
        case .layerNorm(let hasBias):
            let bias = hasBias ? try view.load(module + ".bias") : nil
            bias.withOptionalPointer { bias in
                Kernels.layerNorm(
                    x, rows: N, width: H, weight: weight, bias: bias, epsilon: Float(config.rmsNormEpsilon), into: out)
            }
        }
    }

    /// q, k, v from `normed`, RoPE (partial when the recipe says), causal attention per prompt, and
    /// x ← x + a W_oᵀ (+ b_o).
    private func namedAttention(
        _ l: Int, _ naming: TensorNaming, _ plan: LayerPlan, _ points: [[Float]], _ views: [CombinedWeights],
        _ acts: [PointActivations], _ batch: PromptBatch, _ scratch: EngineScratch
    ) throws {
        let H = config.hiddenSize
        let N = batch.tokenCount
        let qW = config.queryWidth
        let kvW = config.keyValueWidth
        let d = config.headDimension
        let targets: [KeyPath<PointActivations, UnsafeMutablePointer<Float>>] = [\.query, \.key, \.value]
        switch naming.queryKeyValue {
        case .separate(let q, let k, let v):
            for (module, (width, target)) in zip([q, k, v], zip([qW, kvW, kvW], targets)) {
                try projection(
                    naming, naming.layerTensor(l, module), outFeatures: width, inFeatures: H, points, rows: N, scratch,
                    input: { UnsafePointer(acts[$0].normed) }, output: { acts[$0][keyPath: target] })
                if config.queryKeyValueBias {
                    for (p, view) in views.enumerated() {
                        let bias = try view.load(naming.layerTensor(l, module, "bias"))
                        Kernels.addBias(acts[p][keyPath: target], rows: N, width: width, bias: bias)
                    }
                }
            }
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
            // Outputs 0..<qW are the queries, then kvW keys, then kvW values.
            let name = naming.layerTensor(l, module)
            weightsAhead(name, points)
            defer { weightsDone(name, points) }
            let parts = [(0, qW, targets[0]), (qW, kvW, targets[1]), (qW + kvW, kvW, targets[2])]
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
            if config.queryKeyValueBias {
                for (p, view) in views.enumerated() {
                    let bias = try view.load(naming.layerTensor(l, module, "bias"))
                    bias.withUnsafeBufferPointer { bias in
                        for (first, width, target) in parts {
                            Kernels.addBias(
                                acts[p][keyPath: target], rows: N, width: width, bias: bias.baseAddress! + first)
                        }
                    }
                }
            }
        }
        try perHeadNorms(l, naming, views, acts, rows: N)
        let interleaved = config.interleavedRotary
        let kvHeads = config.keyValueHeadCount
        try scratch.profile.measure("attention") {
            for act in acts {
                try Interruption.check()
                for q in batch.prompts.indices {
                    let rows = batch.rows(of: q)
                    let n = rows.count
                    let o = rows.lowerBound
                    let rotary = plan.rotary[q]
                    for (x, heads) in [(act.query + o * qW, config.attentionHeadCount), (act.key + o * kvW, kvHeads)] {
                        if interleaved {
                            rotary.applyInterleaved(to: x, rows: n, heads: heads, headStride: d)
                        } else {
                            rotary.apply(to: x, rows: n, heads: heads, headStride: d)
                        }
                    }
                    Kernels.causalAttention(
                        q: act.query + o * qW, k: act.key + o * kvW, v: act.value + o * kvW, tokenCount: n,
                        heads: config.attentionHeadCount, kvHeads: config.keyValueHeadCount, headDimension: d,
                        variant: plan.attention, scores: scratch.scores, into: act.attention + o * qW)
                }
            }
        }
        try projection(
            naming, naming.layerTensor(l, naming.attentionOutput), outFeatures: H, inFeatures: qW, points, rows: N,
            scratch, input: { UnsafePointer(acts[$0].attention) }, output: { acts[$0].residual }, accumulate: true)
        if config.outputProjectionBias {
            for (p, view) in views.enumerated() {
                let bias = try view.load(naming.layerTensor(l, naming.attentionOutput, "bias"))
                Kernels.addBias(acts[p].residual, rows: N, width: H, bias: bias)
            }
        }
    }

    /// gate ← act(normed W_upᵀ + b) (plain MLP) or act(normed W_gateᵀ) ⊙ normed W_upᵀ (gated MLP).
    private func mlpHidden(
        _ l: Int, _ naming: TensorNaming, _ points: [[Float]], _ views: [CombinedWeights],
        _ acts: [PointActivations], _ batch: PromptBatch, _ scratch: EngineScratch
    ) throws {
        let H = config.hiddenSize
        let I = config.intermediateSize
        let N = batch.tokenCount
        let projections: [(String, KeyPath<PointActivations, UnsafeMutablePointer<Float>>)] =
            naming.mlpGate.map { [($0, \.gate), (naming.mlpUp, \.up)] } ?? [(naming.mlpUp, \.gate)]
        for (module, target) in projections {
            try projection(
                naming, naming.layerTensor(l, module), outFeatures: I, inFeatures: H, points, rows: N, scratch,
                input: { UnsafePointer(acts[$0].normed) }, output: { acts[$0][keyPath: target] })
            if naming.mlpBias {
                for (p, view) in views.enumerated() {
                    let bias = try view.load(naming.layerTensor(l, module, "bias"))
                    Kernels.addBias(acts[p][keyPath: target], rows: N, width: I, bias: bias)
                }
            }
        }
        let gated = naming.mlpGate != nil
        let kind = config.activation
        for act in acts {
            try Interruption.check()
            let gate = act.gate, up = act.up
            try Parallel.forEachPart(N * I) { part in
                let g = gate + part.lowerBound
                if !gated {
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

    /// x ← x + gate W_downᵀ (+ b_down).
    private func mlpOutput(
        _ l: Int, _ naming: TensorNaming, _ points: [[Float]], _ views: [CombinedWeights],
        _ acts: [PointActivations], _ batch: PromptBatch, _ scratch: EngineScratch
    ) throws {
        let H = config.hiddenSize
        let N = batch.tokenCount
        try projection(
            naming, naming.layerTensor(l, naming.mlpDown), outFeatures: H, inFeatures: config.intermediateSize,
            points, rows: N, scratch, input: { UnsafePointer(acts[$0].gate) }, output: { acts[$0].residual },
            accumulate: true)
        if naming.mlpBias {
            for (p, view) in views.enumerated() {
                let bias = try view.load(naming.layerTensor(l, naming.mlpDown, "bias"))
                Kernels.addBias(acts[p].residual, rows: N, width: H, bias: bias)
            }
        }
    }

    /// Y_p[M × rows.count] (+)= X_p[M × K] · W_p[rows]ᵀ for every point p, where W_p[rows] are rows `rows` of the
    /// stored [·, K] tensor `name`; Y_p's rows have stride `ldc`.
    func product(
        _ name: String, rows: Range<Int>, inFeatures K: Int, _ points: [[Float]], tokens M: Int,
        _ scratch: EngineScratch, input: (Int) -> UnsafePointer<Float>, output: (Int) -> UnsafeMutablePointer<Float>,
        ldc: Int, accumulate: Bool = false
    ) throws {
        let blockRows = max(1, min(rows.count, scratchElements / K))
        var first = rows.lowerBound
        while first < rows.upperBound {
            let count = min(blockRows, rows.upperBound - first)
            let offset = first - rows.lowerBound
            try withFormedBlocks(name, elements: (first * K)..<((first + count) * K), points, scratch) { p, weight in
                try Interruption.check()
                scratch.profile.measure("products") {
                    Kernels.linear(
                        input(p), lda: K, rows: M, inFeatures: K, weight: weight, outFeatures: count,
                        into: output(p) + offset, ldc: ldc, accumulate: accumulate)
                }
            }
            first += count
        }
    }

    /// residual[rows of prompt q] += positions[0 ..< n_q] (learned absolute positions, GPT-2's `wpe`).
    func addPositionEmbeddings(
        _ name: String, _ view: CombinedWeights, _ residual: UnsafeMutablePointer<Float>, _ batch: PromptBatch
    ) throws {
        let H = config.hiddenSize
        let count = batch.longest * H
        let rows = try [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            try view.load(name, elements: 0..<count, into: buffer)
            initialized = count
        }
        for q in batch.prompts.indices {
            let range = batch.rows(of: q)
            Kernels.addInPlace(residual + range.lowerBound * H, rows, count: range.count * H)
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

    /// Per-head LayerNorms (no bias) of queries and keys, each head with its own weights (StableLM `qk_layernorm`,
    /// Cohere `use_qk_norm`).
    private func perHeadNorms(
        _ l: Int, _ naming: TensorNaming, _ views: [CombinedWeights], _ acts: [PointActivations], rows N: Int
    ) throws {
        let d = config.headDimension
        let norms: [(String?, Int, Int, KeyPath<PointActivations, UnsafeMutablePointer<Float>>)] = [
            (naming.perHeadQueryNorm, config.attentionHeadCount, config.queryWidth, \.query),
            (naming.perHeadKeyNorm, config.keyValueHeadCount, config.keyValueWidth, \.key),
        ]
        for case let (module?, heads, width, target) in norms {
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
                            row, rows: 1, width: d, weight: weight, bias: nil, epsilon: Float(config.rmsNormEpsilon),
                            into: row)
                    }
                }
            }
        }
    }

    /// Y_p (+)= X_p · W_pᵀ for a projection stored `[out, in]`, or X_p · W_p for one stored `[in, out]`
    /// (``TensorNaming/transposedWeights``).
    private func projection(
        _ naming: TensorNaming, _ name: String, outFeatures: Int, inFeatures K: Int, _ points: [[Float]], rows M: Int,
        _ scratch: EngineScratch, input: (Int) -> UnsafePointer<Float>,
        output: @escaping (Int) -> UnsafeMutablePointer<Float>, accumulate: Bool = false
    ) throws {
        if naming.transposedWeights {
            try transposedProduct(
                name, inFeatures: K, outFeatures: outFeatures, points, tokens: M, scratch, input: input,
                outputs: [(0..<outFeatures, outFeatures, output)], accumulate: accumulate)
        } else {
            try product(
                name, outFeatures: outFeatures, inFeatures: K, points, rows: M, scratch, input: input, output: output,
                accumulate: accumulate)
        }
    }

    /// For a weight stored `[K, O]` (y = x W): Y_c,p (+)= X_p · W_p[:, c] for each output column range c, with
    /// row stride ldc_c, formed block of W's rows (input features) by block; the first block overwrites unless
    /// `accumulate`, later blocks add.
    func transposedProduct(
        _ name: String, inFeatures K: Int, outFeatures O: Int, _ points: [[Float]], tokens M: Int,
        _ scratch: EngineScratch, input: (Int) -> UnsafePointer<Float>,
        outputs: [(columns: Range<Int>, ldc: Int, target: (Int) -> UnsafeMutablePointer<Float>)],
        accumulate: Bool = false
    ) throws {
        precondition(O <= scratchElements, "a row of \(name) (\(O)) exceeds the scratch block (\(scratchElements))")
        weightsAhead(name, points)
        defer { weightsDone(name, points) }
        let blockRows = max(1, min(K, scratchElements / O))
        var first = 0
        while first < K {
            let count = min(blockRows, K - first)
            let adds = accumulate || first > 0
            try withFormedBlocks(name, elements: (first * O)..<((first + count) * O), points, scratch) { p, weight in
                try Interruption.check()
                scratch.profile.measure("products") {
                    for (columns, ldc, target) in outputs {
                        Kernels.linearTransposed(
                            input(p) + first, lda: K, rows: M, inFeatures: count, weight: weight + columns.lowerBound,
                            ldw: O, outFeatures: columns.count, into: target(p), ldc: ldc, accumulate: adds)
                    }
                }
            }
            first += count
        }
    }
}

extension Optional where Wrapped == [Float] {
    /// Calls `body` with a pointer to the array's elements, or nil.
    func withOptionalPointer<R>(_ body: (UnsafePointer<Float>?) throws -> R) rethrows -> R {
        guard let array = self else { return try body(nil) }
        return try array.withUnsafeBufferPointer { try body($0.baseAddress) }
    }
}
