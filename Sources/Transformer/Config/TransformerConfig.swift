/// The shape and hyper-parameters of a Llama-family decoder (Llama, Mistral, Qwen2) as the forward pass uses them.
///
/// Build it from a checkpoint's `config.json` with ``init(_:)`` (which refuses, by name, everything the forward
/// pass does not implement), or field by field with the memberwise initialiser (then call ``validate()``).
///
/// Tensor shapes it implies (weights are `[out, in]`, row-major, as Hugging Face stores them):
/// - `model.embed_tokens.weight`: `[vocabularySize, hiddenSize]`
/// - `q_proj`: `[attentionHeadCount·headDimension, hiddenSize]`; `k_proj`, `v_proj`:
///   `[keyValueHeadCount·headDimension, hiddenSize]`; `o_proj`: `[hiddenSize, attentionHeadCount·headDimension]`
/// - `gate_proj`, `up_proj`: `[intermediateSize, hiddenSize]`; `down_proj`: `[hiddenSize, intermediateSize]`
/// - norms: `[hiddenSize]`; `lm_head.weight`: `[vocabularySize, hiddenSize]` unless tied.
public struct TransformerConfig: Sendable, Hashable {
    /// The Hugging Face model family; it decides which biases exist and the defaults of absent keys.
    public enum Architecture: String, Sendable, Hashable, CaseIterable {
        case llama, mistral, qwen2

        /// The `architectures` entry of a causal LM of this family.
        public var causalLMClassName: String {
            switch self {
            case .llama: "LlamaForCausalLM"
            case .mistral: "MistralForCausalLM"
            case .qwen2: "Qwen2ForCausalLM"
            }
        }
    }

    public var architecture: Architecture
    /// `hidden_size`, the width H of the residual stream.
    public var hiddenSize: Int
    /// `intermediate_size`, the width of the SwiGLU MLP.
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
    /// `rope_theta` (or `rope_parameters.rope_theta`): the RoPE base θ.
    public var ropeTheta: Double
    /// `tie_word_embeddings`: the output projection is `model.embed_tokens.weight`.
    public var tieWordEmbeddings: Bool
    /// Whether `q_proj`, `k_proj`, `v_proj` carry biases (Qwen2 always; Llama when `attention_bias`).
    public var queryKeyValueBias: Bool
    /// Whether `o_proj` carries a bias (Llama when `attention_bias`).
    public var outputProjectionBias: Bool
    /// The sliding-attention window when one is in force (Mistral's `sliding_window`, Qwen2's with
    /// `use_sliding_window`); prompts longer than it are refused rather than computed with full attention.
    public var slidingWindow: Int?

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
        if let slidingWindow, slidingWindow <= 0 {
            throw TransformerError(.badConfig, "sliding_window is \(slidingWindow); expected a positive integer")
        }
    }
}
