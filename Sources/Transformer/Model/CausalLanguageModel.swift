import Checkpoints

/// A Llama-family decoder-only language model (Llama, Mistral, Qwen2) evaluated on the CPU in Float32.
///
/// The model holds no weights: it asks its ``WeightProvider`` for each tensor just before use, into buffers
/// reused across layers, so memory stays at one tensor plus the activations of one prompt, whatever the model
/// size. With ``CombinedWeights`` the same pass evaluates θ0 + Σ c_t τ_t without building that model.
///
/// Per layer ℓ, on the residual stream x ∈ ℝ^(n×H) of an n-token prompt:
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
/// `model.embed_tokens.weight` when the embeddings are tied or no `lm_head.weight` is stored.
///
/// The value is immutable and `Sendable`; calls may run concurrently (BLAS threading permitting). A batch of prompts
/// goes through each layer together (``LockstepEngine``): one matrix product per weight over all their tokens.
public struct CausalLanguageModel: Sendable {
    public let config: TransformerConfig
    public let weights: any WeightProvider
    /// The tensor used as the output projection: `lm_head.weight` or, when tied, `model.embed_tokens.weight`.
    public let outputProjectionName: String
    /// Every tensor the config implies, with its shape.
    let tensorShapes: [(String, [Int])]

    /// Checks that every tensor the config implies is provided, with the implied shape.
    ///
    /// - Throws: ``TransformerError`` — `.badConfig` for inconsistent sizes, `.missingTensor` naming the first
    ///   absent tensor, `.shapeMismatch` naming a tensor stored with another shape.
    public init(config: TransformerConfig, weights: any WeightProvider) throws {
        try config.validate()
        self.config = config
        self.weights = weights
        let tied = config.tieWordEmbeddings || weights.shape(of: TensorNames.lmHead) == nil
        outputProjectionName = tied ? TensorNames.embedding : TensorNames.lmHead

        let H = config.hiddenSize
        let I = config.intermediateSize
        let qW = config.queryWidth
        let kvW = config.keyValueWidth
        var expected: [(String, [Int])] = [(TensorNames.embedding, [config.vocabularySize, H])]
        for index in 0..<config.layerCount {
            let layer = TensorNames.Layer(index)
            expected += [
                (layer.inputNorm, [H]),
                (layer.attention("q_proj"), [qW, H]), (layer.attention("k_proj"), [kvW, H]),
                (layer.attention("v_proj"), [kvW, H]), (layer.attention("o_proj"), [H, qW]),
                (layer.postAttentionNorm, [H]),
                (layer.mlp("gate_proj"), [I, H]), (layer.mlp("up_proj"), [I, H]), (layer.mlp("down_proj"), [H, I]),
            ]
            if config.queryKeyValueBias {
                expected += [
                    (layer.attention("q_proj", "bias"), [qW]), (layer.attention("k_proj", "bias"), [kvW]),
                    (layer.attention("v_proj", "bias"), [kvW]),
                ]
            }
            if config.outputProjectionBias {
                expected.append((layer.attention("o_proj", "bias"), [H]))
            }
        }
        expected.append((TensorNames.finalNorm, [H]))
        if !tied { expected.append((TensorNames.lmHead, [config.vocabularySize, H])) }

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
