extension CausalLanguageModel {
    /// Runs the model on one prompt of token ids.
    ///
    /// - Parameters:
    ///   - tokens: token ids, each in 0..<vocabularySize; 1 ≤ count ≤ maxPositionEmbeddings (and ≤ the sliding
    ///     window when one is in force). Positions are 0..<count.
    ///   - logits: the positions whose logits to compute (all by default).
    /// - Returns: logits for the requested positions and the final hidden state for every position.
    /// - Throws: ``TransformerError`` — `.tokenOutOfRange` naming the position and id, `.badPromptLength` for an
    ///   empty prompt or one longer than `max_position_embeddings`, `.unsupportedFeature` for a prompt longer
    ///   than the sliding window; or the provider's error for a tensor it cannot read.
    public func forward(_ tokens: [Int], logits: LogitPositions = .all) throws -> ForwardOutput {
        try checkPrompt(tokens)
        return try workspaces.withWorkspace(
            config: config, tokenCount: tokens.count, weightCapacity: largestLayerTensor
        ) { workspace in
            try forward(tokens, logits: logits, workspace: workspace)
        }
    }

    /// ``forward(_:logits:)`` for each prompt in turn (all are checked before any runs).
    public func forward(batch prompts: [[Int]], logits: LogitPositions = .all) throws -> [ForwardOutput] {
        for prompt in prompts { try checkPrompt(prompt) }
        return try prompts.map { try forward($0, logits: logits) }
    }

    private func checkPrompt(_ tokens: [Int]) throws {
        guard !tokens.isEmpty else {
            throw TransformerError(.badPromptLength, "the prompt is empty; expected at least one token id")
        }
        guard tokens.count <= config.maxPositionEmbeddings else {
            throw TransformerError(
                .badPromptLength,
                "the prompt has \(tokens.count) tokens; the model accepts at most max_position_embeddings = \(config.maxPositionEmbeddings)")
        }
        if let window = config.slidingWindow, tokens.count > window {
            throw TransformerError(
                .unsupportedFeature,
                "the prompt has \(tokens.count) tokens, more than the sliding_window of \(window); sliding-window attention is not implemented")
        }
        if let position = tokens.firstIndex(where: { $0 < 0 || $0 >= config.vocabularySize }) {
            throw TransformerError(
                .tokenOutOfRange,
                "token id \(tokens[position]) at position \(position) is outside the vocabulary 0..<\(config.vocabularySize)")
        }
    }

    private func forward(_ tokens: [Int], logits selection: LogitPositions, workspace ws: Workspace) throws
        -> ForwardOutput
    {
        let n = tokens.count
        let H = config.hiddenSize
        let V = config.vocabularySize
        let x = ws.residual.baseAddress!

        // Embedding lookup: only the prompt's rows are read.
        for (position, id) in tokens.enumerated() {
            try weights.load(
                TensorNames.embedding, elements: (id * H)..<((id + 1) * H),
                into: UnsafeMutableBufferPointer(start: x + position * H, count: H))
        }

        let rotary = RotaryEmbedding(theta: config.ropeTheta, headDimension: config.headDimension, tokenCount: n)
        for layer in 0..<config.layerCount {
            try attentionBlock(TensorNames.Layer(layer), rotary: rotary, ws)
            try mlpBlock(TensorNames.Layer(layer), ws)
        }

        // Final norm, written straight into the output array.
        try loadVector(TensorNames.finalNorm, count: H, ws)
        let hiddenStates = [Float](unsafeUninitializedCapacity: n * H) { buffer, initialized in
            Kernels.rmsNorm(
                x, rows: n, width: H, weight: ws.vector.baseAddress!, epsilon: Float(config.rmsNormEpsilon),
                into: buffer.baseAddress!)
            initialized = n * H
        }

        let positions: Range<Int> = switch selection {
        case .all: 0..<n
        case .last: (n - 1)..<n
        case .none: n..<n
        }
        var logits = [Float](unsafeUninitializedCapacity: positions.count * V) { _, initialized in
            initialized = positions.count * V  // every element is written by the products below
        }
        if !positions.isEmpty {
            // logits = hidden Eᵀ, over blocks of vocabulary rows so E is never resident whole.
            let rowsPerBlock = max(1, min(V, ws.weight.count / H))
            try hiddenStates.withUnsafeBufferPointer { hidden in
                try logits.withUnsafeMutableBufferPointer { out in
                    var first = 0
                    while first < V {
                        let count = min(rowsPerBlock, V - first)
                        try weights.withFloat32(
                            outputProjectionName, elements: (first * H)..<((first + count) * H), scratch: ws.weight
                        ) { block in
                            Kernels.linear(
                                hidden.baseAddress! + positions.lowerBound * H, lda: H, rows: positions.count,
                                inFeatures: H, weight: block.baseAddress!, outFeatures: count,
                                into: out.baseAddress! + first, ldc: V)
                        }
                        first += count
                    }
                }
            }
        }
        return ForwardOutput(
            tokenCount: n, hiddenSize: H, vocabularySize: V, logitPositions: positions, logits: logits,
            hiddenStates: hiddenStates)
    }

    /// x ← x + Attention(RMSNorm(x)) W_oᵀ (+ b_o).
    private func attentionBlock(_ layer: TensorNames.Layer, rotary: RotaryEmbedding, _ ws: Workspace) throws {
        let n = ws.tokenCount
        let H = config.hiddenSize
        try loadVector(layer.inputNorm, count: H, ws)
        Kernels.rmsNorm(
            ws.residual.baseAddress!, rows: n, width: H, weight: ws.vector.baseAddress!,
            epsilon: Float(config.rmsNormEpsilon), into: ws.normed.baseAddress!)

        let projections = [
            ("q_proj", ws.query, config.queryWidth), ("k_proj", ws.key, config.keyValueWidth),
            ("v_proj", ws.value, config.keyValueWidth),
        ]
        for (projection, output, width) in projections {
            try project(ws.normed.baseAddress!, width: H, layer.attention(projection), outFeatures: width,
                        into: output.baseAddress!, ws)
            if config.queryKeyValueBias {
                try loadVector(layer.attention(projection, "bias"), count: width, ws)
                Kernels.addBias(output.baseAddress!, rows: n, width: width, bias: ws.vector.baseAddress!)
            }
        }
        rotary.apply(to: ws.query.baseAddress!, heads: config.attentionHeadCount)
        rotary.apply(to: ws.key.baseAddress!, heads: config.keyValueHeadCount)
        Kernels.causalAttention(
            q: ws.query.baseAddress!, k: ws.key.baseAddress!, v: ws.value.baseAddress!, tokenCount: n,
            heads: config.attentionHeadCount, kvHeads: config.keyValueHeadCount, headDimension: config.headDimension,
            scores: ws.scores.baseAddress!, into: ws.attention.baseAddress!)
        try project(ws.attention.baseAddress!, width: config.queryWidth, layer.attention("o_proj"), outFeatures: H,
                    into: ws.residual.baseAddress!, accumulate: true, ws)
        if config.outputProjectionBias {
            try loadVector(layer.attention("o_proj", "bias"), count: H, ws)
            Kernels.addBias(ws.residual.baseAddress!, rows: n, width: H, bias: ws.vector.baseAddress!)
        }
    }

    /// x ← x + (silu(h W_gateᵀ) ⊙ h W_upᵀ) W_downᵀ with h = RMSNorm(x).
    private func mlpBlock(_ layer: TensorNames.Layer, _ ws: Workspace) throws {
        let n = ws.tokenCount
        let H = config.hiddenSize
        let I = config.intermediateSize
        try loadVector(layer.postAttentionNorm, count: H, ws)
        Kernels.rmsNorm(
            ws.residual.baseAddress!, rows: n, width: H, weight: ws.vector.baseAddress!,
            epsilon: Float(config.rmsNormEpsilon), into: ws.normed.baseAddress!)
        try project(ws.normed.baseAddress!, width: H, layer.mlp("gate_proj"), outFeatures: I,
                    into: ws.gate.baseAddress!, ws)
        try project(ws.normed.baseAddress!, width: H, layer.mlp("up_proj"), outFeatures: I,
                    into: ws.up.baseAddress!, ws)
        Kernels.swiGLU(gate: ws.gate.baseAddress!, up: ws.up.baseAddress!, count: n * I)
        try project(ws.gate.baseAddress!, width: I, layer.mlp("down_proj"), outFeatures: H,
                    into: ws.residual.baseAddress!, accumulate: true, ws)
    }

    /// output[n × outFeatures] (+)= input[n × width] · Wᵀ for the weight matrix `name`.
    private func project(
        _ input: UnsafePointer<Float>, width: Int, _ name: String, outFeatures: Int,
        into output: UnsafeMutablePointer<Float>, accumulate: Bool = false, _ ws: Workspace
    ) throws {
        try weights.withFloat32(name, elements: 0..<(outFeatures * width), scratch: ws.weight) { matrix in
            Kernels.linear(
                input, lda: width, rows: ws.tokenCount, inFeatures: width, weight: matrix.baseAddress!,
                outFeatures: outFeatures, into: output, ldc: outFeatures, accumulate: accumulate)
        }
    }

    private func loadVector(_ name: String, count: Int, _ ws: Workspace) throws {
        try weights.load(name, elements: 0..<count, into: UnsafeMutableBufferPointer(rebasing: ws.vector[0..<count]))
    }
}
