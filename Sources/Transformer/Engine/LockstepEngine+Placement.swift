extension LockstepEngine {
    /// Whether each block's output is normalised before the residual sum (`post_attention_layernorm`,
    /// `post_feedforward_layernorm`): sandwich placement (Gemma) and post-norm placement (OLMo 2).
    var hasOutputNorms: Bool {
        config.normPlacement == .sandwich || config.normPlacement == .postNorm
    }

    /// normed_p ← the input of a block: norm(residual_p) with each point's weights of norm module `module`, or, in
    /// post-norm placement (OLMo 2: no norm before a block), residual_p itself.
    func blockInput(
        _ module: String, _ views: [CombinedWeights], _ acts: [PointActivations], rows N: Int,
        _ scratch: EngineScratch
    ) throws {
        guard config.normPlacement == .postNorm else {
            for (p, view) in views.enumerated() {
                try applyNorm(module, view, acts[p].residual, rows: N, into: acts[p].normed, scratch)
            }
            return
        }
        for act in acts { act.normed.update(from: act.residual, count: N * config.hiddenSize) }
    }

    /// A block's output for every point: x ← x + Y W_outᵀ (+ b) with W_out layer l's module `module` and Y the
    /// block's activations `input` of width `inFeatures` — in sandwich or post-norm placement
    /// x ← x + norm_out(Y W_outᵀ (+ b)) with norm module `outputNorm`; with a residual multiplier m: x ← x + m · ….
    /// Pre-norm: the product adds straight onto the residual; otherwise it goes into `normed` first.
    func addBlockOutput(
        _ l: Int, _ naming: TensorNaming, _ module: String, bias: Bool, inFeatures: Int, outputNorm: String?,
        _ points: [[Float]], _ views: [CombinedWeights], _ acts: [PointActivations], rows N: Int,
        _ scratch: EngineScratch, input: (Int) -> UnsafePointer<Float>
    ) throws {
        let staged = blockOutputIsStaged
        try biasedProjection(
            l, naming, module, bias: bias, outFeatures: config.hiddenSize, inFeatures: inFeatures, points, views,
            rows: N, scratch, input: input, output: { staged ? acts[$0].normed : acts[$0].residual },
            accumulate: !staged)
        if hasOutputNorms, let outputNorm {
            try addNormalized(naming.layerModule(l, outputNorm), views, acts, rows: N, scratch)
        } else {
            addScaledBlockOutput(acts, rows: N)
        }
    }

    /// residual_p ← residual_p + norm(normed_p) with norm module `module` (the output norm of sandwich and
    /// post-norm placement).
    func addNormalized(
        _ module: String, _ views: [CombinedWeights], _ acts: [PointActivations], rows N: Int,
        _ scratch: EngineScratch
    ) throws {
        for (p, view) in views.enumerated() {
            let normed = acts[p].normed
            try applyNorm(module, view, normed, rows: N, into: normed, scratch)
            Kernels.addInPlace(acts[p].residual, normed, count: N * config.hiddenSize)
        }
    }

    /// out ← norm(x) over `rows` rows of width H with the point's weights of norm module `module`: RMSNorm (its
    /// weight as ``normWeight(_:_:width:_:)`` applies it) or LayerNorm (with its bias when the recipe has one).
    func applyNorm(
        _ module: String, _ view: CombinedWeights, _ x: UnsafePointer<Float>, rows N: Int,
        into out: UnsafeMutablePointer<Float>, _ scratch: EngineScratch
    ) throws {
        let H = config.hiddenSize
        let epsilon = Float(config.rmsNormEpsilon)
        switch config.normKind {
        case .rms:
            let weight = try normWeight(module + ".weight", view, width: H, scratch)
            Kernels.rmsNorm(x, rows: N, width: H, weight: weight, epsilon: epsilon, into: out)
        case .layerNorm(let hasBias):
            let weight = try view.load(module + ".weight")
            let bias = hasBias ? try view.load(module + ".bias") : nil
            bias.withOptionalPointer { bias in
                Kernels.layerNorm(x, rows: N, width: H, weight: weight, bias: bias, epsilon: epsilon, into: out)
            }
        }
    }

    /// The point's RMSNorm weight `name` in the scratch vector, as the recipe applies it: w, or 1 + w (Float32).
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

extension Optional where Wrapped == [Float] {
    /// Calls `body` with a pointer to the array's elements, or nil.
    func withOptionalPointer<R>(_ body: (UnsafePointer<Float>?) throws -> R) rethrows -> R {
        guard let array = self else { return try body(nil) }
        return try array.withUnsafeBufferPointer { try body($0.baseAddress) }
    }
}
