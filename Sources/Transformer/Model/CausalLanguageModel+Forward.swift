extension CausalLanguageModel {
    /// Runs the model on one prompt of token ids.
    ///
    /// - Parameters:
    ///   - tokens: token ids, each in 0..<vocabularySize; 1 ≤ count ≤ maxPositionEmbeddings. Positions are
    ///     0..<count.
    ///   - logits: the positions whose logits to compute (all by default).
    /// - Returns: logits for the requested positions and the final hidden state for every position.
    /// - Throws: ``TransformerError`` — `.tokenOutOfRange` naming the position and id, `.badPromptLength` for an
    ///   empty prompt or one longer than `max_position_embeddings`; or the provider's error for a tensor it cannot
    ///   read.
    public func forward(_ tokens: [Int], logits: LogitPositions = .all) throws -> ForwardOutput {
        try forward(batch: [tokens], logits: logits)[0]
    }

    /// Runs the model on a batch of prompts of any lengths together: each layer's weights are read (and, for
    /// ``CombinedWeights``, formed) once for the whole batch, and each weight is one matrix product over every
    /// token of every prompt; attention and positions stay per prompt. All prompts are checked before any runs.
    /// The outputs are those of ``forward(_:logits:)`` on each prompt in turn (to Float32 rounding: the products
    /// sum the same terms, possibly in another blocking).
    public func forward(batch prompts: [[Int]], logits selection: LogitPositions = .all) throws -> [ForwardOutput] {
        let engine: LockstepEngine
        let point: [Float]
        if let combined = weights as? CombinedWeights {
            engine = try LockstepEngine(config: config, base: combined.base, tasks: combined.tasks)
            point = combined.coefficients
        } else {
            engine = try LockstepEngine(config: config, base: weights, tasks: [])
            point = []
        }
        for prompt in prompts { try config.checkPrompt(prompt) }
        guard !prompts.isEmpty else { return [] }
        let batch = PromptBatch(prompts)
        let hidden = try engine.finalHiddenStates(points: [point], batch: batch, groupSize: 1)[0]
        let H = config.hiddenSize
        let V = config.vocabularySize
        let positions: [Range<Int>] = prompts.map { prompt in
            switch selection {
            case .all: 0..<prompt.count
            case .last: (prompt.count - 1)..<prompt.count
            case .none: prompt.count..<prompt.count
            }
        }
        let rows = prompts.indices.flatMap { q in positions[q].map { batch.offsets[q] + $0 } }
        var logits = positions.map { [Float](repeating: 0, count: $0.count * V) }
        // Where each requested row's logits go: (prompt, row within that prompt's logits).
        let targets = prompts.indices.flatMap { q in positions[q].indices.map { (q, $0 - positions[q].lowerBound) } }
        try engine.projectLogits(points: [point], hiddenStates: [hidden], batch: batch, rows: rows) {
            vocabulary, block in
            let width = vocabulary.count
            for (k, (q, r)) in targets.enumerated() {
                logits[q].withUnsafeMutableBufferPointer { out in
                    (out.baseAddress! + r * V + vocabulary.lowerBound).update(from: block[0] + k * width, count: width)
                }
            }
        }
        return prompts.indices.map { q in
            let rows = batch.rows(of: q)
            return ForwardOutput(
                tokenCount: prompts[q].count, hiddenSize: H, vocabularySize: V, logitPositions: positions[q],
                logits: logits[q], hiddenStates: Array(hidden[(rows.lowerBound * H)..<(rows.upperBound * H)]))
        }
    }
}
