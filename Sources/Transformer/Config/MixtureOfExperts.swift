/// A top-k routed mixture of SwiGLU (or GeGLU) experts in place of the dense MLP of some layers (Mixtral,
/// Qwen3-MoE), as transformers 5.23 computes it per token x (the normed residual stream):
///
///     p = softmax(x W_routerᵀ)                   router logits → probabilities over the E experts (Float32)
///     S = the k experts of largest p             (torch.topk)
///     w_e = p_e / Σ_{j∈S} p_j  if normalized, else p_e
///     y = Σ_{e∈S, ascending e} w_e · (act(x W_gate,eᵀ) ⊙ x W_up,eᵀ) W_down,eᵀ
///
/// and x ← x + y. Tensor names per layer follow ``Naming``; each expert's matrices have the shapes of a dense MLP
/// of width ``intermediateSize``.
public struct MixtureOfExperts: Sendable, Hashable {
    /// How a family names its router and expert tensors.
    public enum Naming: Sendable, Hashable {
        /// `block_sparse_moe.gate.weight`, `block_sparse_moe.experts.{e}.w1|w3|w2.weight` (gate, up, down).
        case mixtral
        /// `mlp.gate.weight`, `mlp.experts.{e}.gate_proj|up_proj|down_proj.weight`.
        case qwen
    }

    /// `num_local_experts` (`num_experts`): E.
    public var expertCount: Int
    /// `num_experts_per_tok`: k.
    public var expertsPerToken: Int
    /// The width of each expert's MLP (Mixtral: `intermediate_size`; Qwen3-MoE: `moe_intermediate_size`).
    public var intermediateSize: Int
    /// Whether the k selected probabilities are divided by their sum (Mixtral always; Qwen3-MoE `norm_topk_prob`).
    public var normalizesTopK: Bool
    /// Which layers route through the experts; nil: every layer. The others keep the dense MLP of width
    /// ``TransformerConfig/intermediateSize`` (Qwen3-MoE's `mlp_only_layers` and `decoder_sparse_step`).
    public var sparseLayers: [Bool]?
    public var naming: Naming

    public init(
        expertCount: Int, expertsPerToken: Int, intermediateSize: Int, normalizesTopK: Bool,
        sparseLayers: [Bool]? = nil, naming: Naming
    ) {
        self.expertCount = expertCount
        self.expertsPerToken = expertsPerToken
        self.intermediateSize = intermediateSize
        self.normalizesTopK = normalizesTopK
        self.sparseLayers = sparseLayers
        self.naming = naming
    }

    /// Whether layer `layer` routes through the experts.
    public func isSparse(layer: Int) -> Bool { sparseLayers?[layer] ?? true }

    /// The router weight `[expertCount, hidden]` of layer `layer`.
    func router(_ layer: TensorNames.Layer) -> String {
        switch naming {
        case .mixtral: layer.prefix + "block_sparse_moe.gate.weight"
        case .qwen: layer.prefix + "mlp.gate.weight"
        }
    }

    /// The gate, up and down weights of expert `expert` of layer `layer`.
    func expert(_ expert: Int, _ layer: TensorNames.Layer) -> (gate: String, up: String, down: String) {
        switch naming {
        case .mixtral:
            let stem = layer.prefix + "block_sparse_moe.experts.\(expert)."
            return (stem + "w1.weight", stem + "w3.weight", stem + "w2.weight")
        case .qwen:
            let stem = layer.prefix + "mlp.experts.\(expert)."
            return (stem + "gate_proj.weight", stem + "up_proj.weight", stem + "down_proj.weight")
        }
    }

    /// Checks the counts: E > 0, 0 < k ≤ E, a positive expert width, one `sparseLayers` entry per layer.
    func validate(layerCount: Int) throws {
        let positive: [(String, Int)] = [
            ("num_local_experts", expertCount), ("num_experts_per_tok", expertsPerToken),
            ("moe_intermediate_size", intermediateSize),
        ]
        for (key, value) in positive where value <= 0 {
            throw TransformerError(.badConfig, "\(key) is \(value); expected a positive integer")
        }
        guard expertsPerToken <= expertCount else {
            throw TransformerError(
                .badConfig,
                "num_experts_per_tok (\(expertsPerToken)) exceeds the number of experts (\(expertCount))")
        }
        if let sparseLayers, sparseLayers.count != layerCount {
            throw TransformerError(
                .badConfig, "\(sparseLayers.count) sparse-layer flags for num_hidden_layers = \(layerCount)")
        }
    }

    /// Floats per token and point the routed MLP needs besides ``PointActivations``' dense buffers: the router
    /// logits (E), the gathered input rows, one expert's output and the sum over experts (3H), and one expert's gate
    /// and up activations (2 · width) unless they fit the dense gate and up buffers (``usesDenseBuffers(_:)``).
    static func floatsPerToken(_ config: TransformerConfig) -> Int {
        guard let experts = config.experts else { return 0 }
        let gateUp = experts.usesDenseBuffers(config) ? 0 : 2 * experts.intermediateSize
        return experts.expertCount + 3 * config.hiddenSize + gateUp
    }

    /// Whether an expert's gate and up activations fit the dense MLP's buffers (width ≤ `intermediate_size`; always
    /// for Mixtral, whose experts have that width).
    func usesDenseBuffers(_ config: TransformerConfig) -> Bool { intermediateSize <= config.intermediateSize }
}

extension MixtureOfExperts {
    /// The router `[E, H]` and every expert's gate and up `[width, H]` and down `[H, width]` of layer `layer`.
    func tensorShapes(_ layer: TensorNames.Layer, hiddenSize H: Int) -> [(String, [Int])] {
        let I = intermediateSize
        var shapes: [(String, [Int])] = [(router(layer), [expertCount, H])]
        for e in 0..<expertCount {
            let names = expert(e, layer)
            shapes += [(names.gate, [I, H]), (names.up, [I, H]), (names.down, [H, I])]
        }
        return shapes
    }
}

extension MixtureOfExperts {
    /// Checks that every sparse layer's router is stored as `[expertCount, hiddenSize]` before any expert tensor is
    /// listed, so an expert count the weights do not hold is refused by the router's name in one step (never by
    /// listing or allocating for `expertCount` experts).
    ///
    /// - Throws: ``TransformerError`` — `.missingTensor` or `.shapeMismatch` naming the router.
    func checkRouters(_ config: TransformerConfig, _ weights: any WeightProvider) throws {
        let expected = [expertCount, config.hiddenSize]
        for index in 0..<config.layerCount where isSparse(layer: index) {
            let name = router(TensorNames.Layer(index))
            guard let stored = weights.shape(of: name) else {
                throw TransformerError(
                    .missingTensor,
                    "tensor \(name) is not stored; a \(config.architecture.causalLMClassName) with this config needs "
                        + "it (the router, shape \(expected)); experts stored fused, as one tensor per layer, are not "
                        + "implemented")
            }
            guard stored == expected else {
                throw TransformerError(
                    .shapeMismatch,
                    "tensor \(name) is stored as \(stored); config.json implies \(expected) (\(expertCount) experts)")
            }
        }
    }
}
