import Checkpoints

/// A decoder-only language model of the architecture table (Llama, Mistral, Qwen2, Qwen3, Gemma 2, Gemma 3 text)
/// evaluated on the CPU in Float32.
///
/// The model holds no weights: it asks its ``WeightProvider`` for each tensor just before use, into buffers
/// reused across layers, so memory stays at one tensor plus the activations of one prompt, whatever the model
/// size. With ``CombinedWeights`` the same pass evaluates θ0 + Σ c_t τ_t without building that model.
///
/// Per layer ℓ, on the residual stream x ∈ ℝ^(n×H) of an n-token prompt (Llama's recipe; the others vary it as
/// ``TransformerConfig`` describes — (1 + w) norms, sandwich norms, q/k norms, windows, soft-caps, GeGLU):
///
///     h  = RMSNorm(x; w_in)                                  RMSNorm(x) = w ⊙ x / √(mean(x²) + ε)
///     q, k, v = h W_qᵀ (+ b_q), h W_kᵀ (+ b_k), h W_vᵀ (+ b_v)
///     q, k = RoPE(q), RoPE(k)                                rotate-half layout, positions 0..<n
///     a  = CausalGQA(q, k, v)                                softmax(q kᵀ / √d + causal mask) v, per head
///     x ← x + a W_oᵀ (+ b_o)
///     h  = RMSNorm(x; w_post)
///     x ← x + (silu(h W_gateᵀ) ⊙ h W_upᵀ) W_downᵀ            silu(z) = z σ(z)
///
/// then hidden = RMSNorm(x; w_final) and logits = hidden Eᵀ with E = `lm_head.weight`, or
/// `model.embed_tokens.weight` when no `lm_head.weight` is stored.
///
/// The value is immutable and `Sendable`; calls may run concurrently (BLAS threading permitting). A batch of prompts
/// goes through each layer together (``LockstepEngine``): one matrix product per weight over all their tokens.
public struct CausalLanguageModel: Sendable {
    public let config: TransformerConfig
    public let weights: any WeightProvider
    /// The tensor used as the output projection: `lm_head.weight` when stored (whatever `tie_word_embeddings` says,
    /// as transformers 5.23 loads it), else `model.embed_tokens.weight`.
    public let outputProjectionName: String
    /// Every tensor the config implies, with its shape.
    let tensorShapes: [(String, [Int])]

    /// Checks that every tensor the config implies is provided, with the implied shape.
    ///
    /// - Throws: ``TransformerError`` — `.badConfig` for inconsistent sizes, `.missingTensor` naming the first
    ///   absent tensor, `.shapeMismatch` naming a tensor stored with another shape.
    public init(config: TransformerConfig, weights: any WeightProvider) throws {
        try config.validate()
        let config = config.resolvingNames(in: weights)
        self.config = config
        self.weights = weights
        // transformers 5.23 keeps a stored lm_head.weight even when tie_word_embeddings is true (it warns that the
        // stored head differs from the embedding and does not tie them): the head is the embedding only when absent.
        let head = config.storedHead(in: weights)
        outputProjectionName = head ?? config.embeddingName
        try config.experts?.checkRouters(config, weights)
        let expected = config.tensorShapes(head: head)
        for (name, shape) in expected {
            let place = weights.location.map { "\($0): " } ?? ""
            guard let stored = weights.shape(of: name) else {
                throw TransformerError(
                    .missingTensor,
                    "\(place)tensor \(name) is not stored; a \(config.architecture.causalLMClassName) with this config "
                        + "needs it (shape \(shape))"
                )
            }
            guard stored == shape else {
                throw TransformerError(
                    .shapeMismatch, "\(place)tensor \(name) is stored as \(stored); config.json implies \(shape)")
            }
        }
        tensorShapes = expected
    }

    /// The model of a checkpoint directory, weights read from its files as the pass needs them.
    public init(checkpoint: Checkpoint) throws {
        try self.init(config: TransformerConfig(checkpoint: checkpoint), weights: CheckpointWeights(checkpoint))
    }

    /// The model θ0 + Σ_t c_t (θ_t − θ0) of a base and task checkpoints, with the base's config.
    public init(base: Checkpoint, tasks: [Checkpoint], coefficients: [Float]) throws {
        try self.init(
            config: TransformerConfig(checkpoint: base),
            weights: CombinedWeights(base: base, tasks: tasks, coefficients: coefficients))
    }
}
