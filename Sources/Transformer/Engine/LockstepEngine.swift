import Foundation

/// Evaluates several weight points θ(c_p) = θ0 + Σ_t c_p,t τ_t (τ_t = θ_t − θ0) on one batch of prompts, layer by
/// layer in lockstep.
///
/// For every weight matrix W of a layer, in blocks of rows of about ``blockElements`` elements:
/// 1. the block of θ0 and of each θ_t some point needs is read once (converted to Float32 on all cores unless
///    the provider lends mapped Float32);
/// 2. for each point p, W_p = θ0 + c_p,t₁ (θ_t₁ − θ0) [+ c_p,t₂ (θ_t₂ − θ0) …] is formed in Float32 in task
///    order, skipping tasks with c = 0 (exactly the operations of ``CombinedWeights``; a point with every c = 0
///    uses θ0's block directly);
/// 3. one matrix product per point covers every token of every prompt: Y_p[:, block] = X_p · W_p[block]ᵀ.
///
/// Attention and positions stay per prompt (rows ``PromptBatch/rows(of:)``). Per point only the activations of
/// the batch are kept (``PointActivations``: N × (2H + 2qW + 2kvW + 2I) floats); points run in groups of at most
/// `groupSize`, and the inputs are read once per group: ⌈points / groupSize⌉ times for the layers, once for the
/// output projection.
///
/// Peak memory in bytes (anonymous; mapped input pages are file-backed and released as tensors finish when
/// ``evictsInputs`` is set) — see ``estimatedPeakBytes(points:groupSize:batch:logitRows:)``:
///
///     4 · [ (T + 2) · B                        weight blocks: θ0, each θ_t, one formed block
///         + G · N · (2H + 2qW + 2kvW + 2I)     activations of the points of one group (with routed experts
///                                              also E + 3H [+ 2·I_e]: ``MixtureOfExperts/floatsPerToken(_:)``)
///         + L²                                 attention scores of the longest prompt
///         + P · N · H                          final hidden states of every point
///         + P · R · V_B ]                      one vocabulary block of logits for every point
///
/// with B = max(min(blockElements, largest matrix), I, qW, H; and qW + 2kvW for weights stored [in, out]),
/// G = group size, N tokens, L longest prompt, P points, R logit rows, V_B = ⌊B / H⌋ vocabulary rows per block.
public struct LockstepEngine: Sendable {
    public let config: TransformerConfig
    public let base: any WeightProvider
    public let tasks: [any WeightProvider]
    /// `lm_head.weight` when stored, else `model.embed_tokens.weight`.
    public let outputProjectionName: String
    /// Target elements of one block of weight rows (4 MiB of Float32 by default).
    public var blockElements = 1 << 20
    /// Drop every tensor's pages from memory and the page cache once read (for inputs larger than RAM).
    public var evictsInputs = false

    /// - Throws: ``TransformerError`` — what ``CausalLanguageModel/init(config:weights:)`` throws for the base, and
    ///   `.shapeMismatch` naming the task model and tensor whose shape differs from the base's.
    public init(config: TransformerConfig, base: any WeightProvider, tasks: [any WeightProvider]) throws {
        let model = try CausalLanguageModel(config: config, weights: base)
        for (t, task) in tasks.enumerated() {
            for (name, shape) in model.tensorShapes where task.shape(of: name) != shape {
                let stored = task.shape(of: name).map { "\($0)" } ?? "absent"
                let model = task.location ?? "task model \(t)"
                throw TransformerError(
                    .shapeMismatch, "\(model): tensor \(name) is \(stored) here but \(shape) in the base")
            }
        }
        self.config = model.config  // with the names the base stores (GPT-2 with or without `transformer.`)
        self.base = base
        self.tasks = tasks
        outputProjectionName = model.outputProjectionName
    }

    /// Elements of each scratch block.
    public var scratchElements: Int {
        let c = config
        let I = max(c.intermediateSize, c.experts?.intermediateSize ?? 0)
        let rows = max(c.vocabularySize, I, c.queryWidth, c.keyValueWidth, c.experts?.expertCount ?? 0)
        let largest = rows * c.hiddenSize
        // A weight stored [in, out] is formed whole rows of `out` at a time (c_attn: q, k and v together).
        let transposedRow = c.naming?.transposedWeights == true ? c.queryWidth + 2 * c.keyValueWidth : 0
        return max(min(blockElements, largest), I, c.queryWidth, c.hiddenSize, transposedRow)
    }

    /// Vocabulary rows per block of the output projection.
    public var vocabularyBlockRows: Int {
        max(1, min(config.vocabularySize, scratchElements / config.hiddenSize))
    }

    /// Bytes of activations one point of a lockstep group needs for `batch`.
    public func activationBytesPerPoint(_ batch: PromptBatch) -> Int {
        4 * batch.tokenCount * PointActivations.floatsPerToken(config)
    }

    /// The peak anonymous memory of ``finalHiddenStates(points:batch:groupSize:progress:)`` followed by
    /// ``projectLogits(points:hiddenStates:batch:rows:progress:_:)`` (the formula in the type's documentation).
    public func estimatedPeakBytes(points: Int, groupSize: Int, batch: PromptBatch, logitRows: Int) -> Int {
        let N = batch.tokenCount
        let weights = (tasks.count + 2) * scratchElements
        let activations = min(groupSize, points) * N * PointActivations.floatsPerToken(config)
        let scores = batch.longest * batch.longest
        let hidden = points * N * config.hiddenSize
        let logits = points * logitRows * vocabularyBlockRows
        return 4 * (weights + activations + scores + hidden + logits)
    }

    /// Checks every prompt: non-empty, within `max_position_embeddings` (unless the RoPE is `dynamic`), ids in the
    /// vocabulary. (A prompt longer than a sliding window is computed with the window, as transformers computes
    /// it.) A programming-error guard, run by every pass: the engine's callers check their prompts for the user
    /// first, naming the file and line (the probe's through Evaluation's `PromptSource`, eval's in `EvalTask`).
    func check(_ batch: PromptBatch) throws {
        guard !batch.prompts.isEmpty else {
            throw TransformerError(.badPromptLength, "no prompts; expected at least one")
        }
        for prompt in batch.prompts { try config.checkPrompt(prompt) }
    }

    func checkPoints(_ points: [[Float]]) throws {
        for (p, c) in points.enumerated() {
            try CombinedWeights.check(c, taskCount: tasks.count, point: p)
        }
    }
}

extension TransformerConfig {
    /// One prompt's guard (``LockstepEngine/check(_:)``, and the single-model forward pass): non-empty, within
    /// `max_position_embeddings` (unless the RoPE is `dynamic`), ids in the vocabulary.
    func checkPrompt(_ tokens: [Int]) throws {
        guard !tokens.isEmpty else {
            throw TransformerError(.badPromptLength, "the prompt is empty; expected at least one token id")
        }
        // Dynamic RoPE is made for prompts beyond max_position_embeddings (its base grows with the length).
        guard tokens.count <= maxPositionEmbeddings || ropeScaling.dependsOnPromptLength else {
            throw TransformerError(
                .badPromptLength,
                "the prompt has \(tokens.count) tokens; the model accepts at most max_position_embeddings = "
                + "\(maxPositionEmbeddings)"
            )
        }
        if let position = tokens.firstIndex(where: { $0 < 0 || $0 >= vocabularySize }) {
            throw TransformerError(
                .tokenOutOfRange,
                "token id \(tokens[position]) at position \(position) is outside the vocabulary 0..<\(vocabularySize)")
        }
    }
}
