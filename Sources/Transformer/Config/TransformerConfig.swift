import Foundation

/// The shape, hyper-parameters and block recipe of a decoder of the architecture table (Llama, Mistral, Qwen2,
/// Qwen3, Gemma 2, Gemma 3 text) as the forward pass uses them.
///
/// Build it from a checkpoint's `config.json` with ``init(_:)`` (which refuses, by name, everything the forward
/// pass does not implement), or field by field with the memberwise initialiser and the recipe properties (then call
/// ``validate()``). Each architecture's file under `Architectures/` states which keys it reads and which recipe it
/// sets; the engine builds every layer from the recipe, choosing each variant once per layer.
///
/// Tensor shapes it implies (weights are `[out, in]`, row-major, as Hugging Face stores them):
/// - `model.embed_tokens.weight`: `[vocabularySize, hiddenSize]`
/// - `q_proj`: `[attentionHeadCount·headDimension, hiddenSize]`; `k_proj`, `v_proj`:
///   `[keyValueHeadCount·headDimension, hiddenSize]`; `o_proj`: `[hiddenSize, attentionHeadCount·headDimension]`
/// - `gate_proj`, `up_proj`: `[intermediateSize, hiddenSize]`; `down_proj`: `[hiddenSize, intermediateSize]`
/// - norms: `[hiddenSize]` (`q_norm`, `k_norm`: `[headDimension]`, or the projection's width when they span all
///   heads); `lm_head.weight`: `[vocabularySize, hiddenSize]` unless tied.
/// - fused (``fusedProjections``, Phi-3): `qkv_proj` `[queryWidth + 2·keyValueWidth, hiddenSize]` (q, k, v rows in
///   that order) and `gate_up_proj` `[2·intermediateSize, hiddenSize]` (gate rows, then up rows) instead.
public struct TransformerConfig: Sendable, Hashable {
    /// A Hugging Face model family: its `model_type` and the causal-LM class of its `architectures` entry. Each
    /// architecture file declares its value (`.llama`, `.gemma2`, …).
    public struct Architecture: Sendable, Hashable, CustomStringConvertible {
        /// `model_type` in config.json.
        public let modelType: String
        /// The `architectures` entry of a causal LM of this family.
        public let causalLMClassName: String

        public init(modelType: String, causalLMClassName: String) {
            self.modelType = modelType
            self.causalLMClassName = causalLMClassName
        }

        public var rawValue: String { modelType }
        public var description: String { modelType }
    }

    /// How an RMSNorm applies its weight w to x̂ = x / √(mean(x²) + ε).
    public enum NormWeight: Sendable, Hashable {
        /// w ⊙ x̂ (Llama, Mistral, Qwen).
        case weight
        /// (1 + w) ⊙ x̂ (Gemma; the stored w is centred on 0).
        case onePlusWeight
    }

    /// Where a layer's norms sit around its attention and MLP blocks f.
    public enum NormPlacement: Sendable, Hashable {
        /// x ← x + f(norm(x)): `input_layernorm` before attention, `post_attention_layernorm` before the MLP.
        case preNorm
        /// x ← x + norm_out(f(norm_in(x))): `input_layernorm` / `post_attention_layernorm` around attention,
        /// `pre_feedforward_layernorm` / `post_feedforward_layernorm` around the MLP (Gemma 2 and 3).
        case sandwich
        /// x ← x + norm_out(f(x)): no norm before a block, `post_attention_layernorm` after attention and
        /// `post_feedforward_layernorm` after the MLP (OLMo 2).
        case postNorm
    }

    /// The gated MLP's activation: (act(h W_gateᵀ) ⊙ h W_upᵀ) W_downᵀ.
    public enum Activation: Sendable, Hashable {
        /// SwiGLU: silu(z) = z σ(z).
        case silu
        /// GeGLU with transformers' `gelu_pytorch_tanh`: ½ z (1 + tanh(√(2/π) (z + 0.044715 z³))).
        case geluTanh
        /// Exact GELU, ½ z (1 + erf(z / √2)) (transformers' `gelu`; GPT-NeoX's plain MLP).
        case gelu
    }

    /// Which norm every norm of the model is (layers, final, q/k).
    public enum NormKind: Sendable, Hashable {
        /// RMSNorm (``NormWeight`` says how the weight applies).
        case rms
        /// LayerNorm: w ⊙ (x − mean(x)) / √(var(x) + ε) (+ b when `bias`); ε is ``rmsNormEpsilon``.
        case layerNorm(bias: Bool)
    }

    public var architecture: Architecture
    /// `hidden_size`, the width H of the residual stream.
    public var hiddenSize: Int
    /// `intermediate_size`, the width of the gated MLP (SwiGLU or GeGLU).
    public var intermediateSize: Int
    /// `num_hidden_layers`.
    public var layerCount: Int
    /// `num_attention_heads`.
    public var attentionHeadCount: Int
    /// `num_key_value_heads` (grouped-query attention: query head h reads key/value head
    /// h / (attentionHeadCount / keyValueHeadCount)).
    public var keyValueHeadCount: Int
    /// `head_dim`, which may differ from hiddenSize / attentionHeadCount.
    public var headDimension: Int
    /// `vocab_size`.
    public var vocabularySize: Int
    /// `max_position_embeddings`: the longest prompt accepted.
    public var maxPositionEmbeddings: Int
    /// `rms_norm_eps`, added to mean(x²) in every RMSNorm (converted to Float32, as transformers does).
    public var rmsNormEpsilon: Double
    /// `rope_theta` (or `rope_parameters.rope_theta`): the RoPE base θ of the full-attention layers.
    public var ropeTheta: Double
    /// `tie_word_embeddings` as config.json states it. The output projection is `lm_head.weight` whenever the
    /// weights store one — also when this is true, as transformers 5.23 keeps a stored head that differs from the
    /// embedding — and `model.embed_tokens.weight` otherwise.
    public var tieWordEmbeddings: Bool
    /// Whether `q_proj`, `k_proj`, `v_proj` carry biases (Qwen2 always; Llama when `attention_bias`).
    public var queryKeyValueBias: Bool
    /// Whether `o_proj` carries a bias (Llama when `attention_bias`).
    public var outputProjectionBias: Bool
    /// The sliding-attention window when some layer uses one (Mistral's `sliding_window`, Qwen2/3's with
    /// `use_sliding_window`, Gemma's): query i attends to keys j with i − window < j ≤ i, as transformers' eager
    /// attention masks them.
    public var slidingWindow: Int?
    /// Which layers use ``slidingWindow`` (`layer_types` entries `sliding_attention`); nil: every layer.
    public var slidingLayers: [Bool]?

    // MARK: Recipe (defaults: Llama)

    /// How every RMSNorm (layers, final, q/k) applies its weight.
    public var normWeight: NormWeight = .weight
    /// Where the layer norms sit.
    public var normPlacement: NormPlacement = .preNorm
    /// The MLP kind.
    public var activation: Activation = .silu
    /// Whether queries and keys get a per-head RMSNorm (`self_attn.q_norm`, `k_norm`, width head_dim) after their
    /// projection and before RoPE (Qwen3, Gemma 3).
    public var queryKeyNorm = false
    /// Whether the q/k norms span the whole projection (`q_norm` of width heads·head_dim, `k_norm` of
    /// kv_heads·head_dim, OLMo 2) rather than each head (width head_dim).
    public var queryKeyNormAcrossHeads = false
    /// Whether the embedding rows are multiplied by √hiddenSize (rounded to Float32) before the first layer (Gemma).
    public var scalesEmbeddings = false
    /// `query_pre_attn_scalar` s: attention scores are q·k / √s instead of q·k / √headDimension (Gemma).
    public var queryPreAttentionScalar: Double?
    /// `attn_logit_softcapping` c: scores become c · tanh(score / c) before the mask and softmax (Gemma 2).
    public var attentionSoftCap: Double?
    /// `final_logit_softcapping` c: logits become c · tanh(logit / c) (Gemma 2).
    public var finalLogitSoftCap: Double?
    /// The RoPE type of the full-attention layers (and of every layer unless ``slidingRopeTheta`` is set).
    public var ropeScaling: RotaryScaling = .none
    /// A RoPE base of its own (default RoPE) for the sliding layers (Gemma 3's `rope_parameters.sliding_attention`).
    public var slidingRopeTheta: Double?
    /// `embedding_multiplier` m: the embedding rows are multiplied by m (rounded to Float32) before the first layer
    /// (Granite).
    public var embeddingMultiplier: Double?
    /// `residual_multiplier` m: each block adds m · f(…) to the residual stream instead of f(…) (Granite).
    public var residualMultiplier: Double?
    /// `attention_multiplier` a: attention scores are a · q·k instead of q·k / √headDimension (Granite).
    public var attentionMultiplier: Double?
    /// `logits_scaling` s: the logits are divided by s (Granite).
    public var logitsScaling: Double?
    /// Whether q/k/v are row ranges of one `self_attn.qkv_proj` and gate/up of one `mlp.gate_up_proj` (Phi-3).
    public var fusedProjections = false
    /// A routed mixture of experts in place of the dense MLP (of every layer, or of those it marks sparse).
    public var experts: MixtureOfExperts?
    /// The norm kind (RMSNorm unless the architecture uses LayerNorm).
    public var normKind: NormKind = .rms
    /// Parallel residual: x ← x + Attention(norm_in(x)) + MLP(norm_mlp(x)), both from the layer's input.
    public var parallelResidual = false
    /// Partial rotary, the one notion every architecture maps its own keys to (Phi-3's and StableLM's
    /// `partial_rotary_factor`, GPT-NeoX's `rotary_pct`, GPT-2's absent RoPE): RoPE rotates only the first
    /// `rotaryDimension` (even, ≤ head_dim; 0: none) entries of each head; nil: all of them.
    public var rotaryDimension: Int?
    /// Whether RoPE rotates interleaved pairs (x₂ᵢ, x₂ᵢ₊₁) by angle i (Cohere) instead of the halves (xᵢ, xᵢ₊d/₂).
    public var interleavedRotary = false
    /// `logit_scale` s: logits become s · (h Eᵀ) (Cohere); nil: no factor.
    public var logitScale: Double?
    /// The tensor names and block layout of an architecture that does not use Llama's (``TensorNaming``); nil:
    /// Llama's names (``TensorNames``). Held by reference (``TensorNaming/Box``) to keep the config small.
    public var naming: TensorNaming? {
        get { namingBox?.naming }
        set { namingBox = newValue.map(TensorNaming.Box.init) }
    }
    private var namingBox: TensorNaming.Box?

    public init(
        architecture: Architecture = .llama, hiddenSize: Int, intermediateSize: Int, layerCount: Int,
        attentionHeadCount: Int, keyValueHeadCount: Int? = nil, headDimension: Int? = nil, vocabularySize: Int,
        maxPositionEmbeddings: Int = 2048, rmsNormEpsilon: Double = 1e-6, ropeTheta: Double = 10_000,
        tieWordEmbeddings: Bool = false, queryKeyValueBias: Bool = false, outputProjectionBias: Bool = false,
        slidingWindow: Int? = nil
    ) {
        self.architecture = architecture
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.layerCount = layerCount
        self.attentionHeadCount = attentionHeadCount
        self.keyValueHeadCount = keyValueHeadCount ?? attentionHeadCount
        self.headDimension = headDimension ?? (attentionHeadCount > 0 ? hiddenSize / attentionHeadCount : 0)
        self.vocabularySize = vocabularySize
        self.maxPositionEmbeddings = maxPositionEmbeddings
        self.rmsNormEpsilon = rmsNormEpsilon
        self.ropeTheta = ropeTheta
        self.tieWordEmbeddings = tieWordEmbeddings
        self.queryKeyValueBias = queryKeyValueBias
        self.outputProjectionBias = outputProjectionBias
        self.slidingWindow = slidingWindow
    }

    /// The window of layer `layer`, nil for full attention.
    func window(ofLayer layer: Int) -> Int? {
        guard let slidingWindow, slidingLayers?[layer] ?? true else { return nil }
        return slidingWindow
    }

    /// Whether layer `layer` takes the sliding layers' RoPE (``slidingRopeTheta``).
    func usesSlidingRope(layer: Int) -> Bool {
        slidingRopeTheta != nil && (slidingLayers?[layer] ?? true)
    }

    /// The factor on q·k: attention_multiplier, else 1 / √query_pre_attn_scalar, else 1 / √head_dim.
    var attentionScale: Float {
        if let attentionMultiplier { return Float(attentionMultiplier) }
        if let queryPreAttentionScalar { return Float(Foundation.pow(queryPreAttentionScalar, -0.5)) }
        return 1 / Float(headDimension).squareRoot()
    }

    /// The rotated leading part of each head: ``rotaryDimension`` when the architecture sets it, else the whole
    /// head.
    var rotatedDimensions: Int { rotaryDimension ?? headDimension }

    /// Width of all query heads together, attentionHeadCount · headDimension.
    public var queryWidth: Int { attentionHeadCount * headDimension }
    /// Width of all key (or value) heads together, keyValueHeadCount · headDimension.
    public var keyValueWidth: Int { keyValueHeadCount * headDimension }

    /// Checks the sizes are positive and consistent (heads divisible by KV heads, even head dimension, a query width
    /// heads × head_dim that a 64-bit integer holds, …).
    ///
    /// - Throws: ``TransformerError/Kind/badConfig`` naming the offending field.
    public func validate() throws {
        let positive: [(String, Int)] = [
            ("hidden_size", hiddenSize), ("intermediate_size", intermediateSize),
            ("num_hidden_layers", layerCount), ("num_attention_heads", attentionHeadCount),
            ("num_key_value_heads", keyValueHeadCount), ("head_dim", headDimension), ("vocab_size", vocabularySize),
            ("max_position_embeddings", maxPositionEmbeddings),
        ]
        for (key, value) in positive where value <= 0 {
            throw TransformerError(.badConfig, "\(key) is \(value); expected a positive integer")
        }
        guard attentionHeadCount % keyValueHeadCount == 0 else {
            throw TransformerError(
                .badConfig,
                "num_attention_heads (\(attentionHeadCount)) is not a multiple of num_key_value_heads "
                    + "(\(keyValueHeadCount))"
            )
        }
        guard headDimension % 2 == 0 else {
            throw TransformerError(.badConfig, "head_dim is \(headDimension); rotary embeddings need an even head_dim")
        }
        // ``queryWidth`` (≥ ``keyValueWidth``, as the KV heads divide the heads) must be representable.
        guard !attentionHeadCount.multipliedReportingOverflow(by: headDimension).overflow else {
            throw TransformerError(
                .badConfig,
                "num_attention_heads (\(attentionHeadCount)) × head_dim (\(headDimension)) is too large for a 64-bit "
                    + "integer"
            )
        }
        guard rmsNormEpsilon >= 0, rmsNormEpsilon.isFinite else {
            throw TransformerError(.badConfig, "rms_norm_eps is \(rmsNormEpsilon); expected a finite number ≥ 0")
        }
        guard ropeTheta > 0, ropeTheta.isFinite else {
            throw TransformerError(.badConfig, "rope_theta is \(ropeTheta); expected a finite positive number")
        }
        if let rotaryDimension, !(0...headDimension).contains(rotaryDimension) || rotaryDimension % 2 != 0 {
            throw TransformerError(
                .badConfig,
                "the rotary dimension is \(rotaryDimension); expected an even number of head_dim's \(headDimension) "
                    + "entries")
        }
        if let slidingWindow, slidingWindow <= 0 {
            throw TransformerError(.badConfig, "sliding_window is \(slidingWindow); expected a positive integer")
        }
        if let slidingLayers, slidingLayers.count != layerCount {
            throw TransformerError(
                .badConfig, "layer_types has \(slidingLayers.count) entries for num_hidden_layers = \(layerCount)")
        }
        let positiveReals: [(String, Double?)] = [
            ("query_pre_attn_scalar", queryPreAttentionScalar), ("attn_logit_softcapping", attentionSoftCap),
            ("final_logit_softcapping", finalLogitSoftCap), ("rope_local_base_freq", slidingRopeTheta),
            ("embedding_multiplier", embeddingMultiplier), ("residual_multiplier", residualMultiplier),
            ("attention_multiplier", attentionMultiplier), ("logits_scaling", logitsScaling),
        ]
        for case let (key, value?) in positiveReals where !(value > 0 && value.isFinite) {
            throw TransformerError(.badConfig, "\(key) is \(value); expected a finite positive number")
        }
        try ropeScaling.validate()
        try experts?.validate(layerCount: layerCount)
    }
}
