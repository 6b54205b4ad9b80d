/// The tensor names and block layout the engine's layer loop reads: one value per row of the architecture table
/// whose checkpoints do not use Llama's names (``gptNeoX``, …); the other rows get Llama's (``llama(_:)``,
/// ``TensorNames``) through ``TransformerConfig/layerNaming``.
///
/// Module names are relative to the layer prefix (`gpt_neox.layers.{l}.`) and carry no `.weight` / `.bias`;
/// ``layerTensor(_:_:_:)`` forms the full name.
public struct TensorNaming: Sendable, Hashable {
    /// How a layer stores its query, key and value projections.
    public enum QueryKeyValue: Sendable, Hashable {
        /// Three modules `[qW, H]`, `[kvW, H]`, `[kvW, H]` (Llama's layout under other names).
        case separate(query: String, key: String, value: String)
        /// One module `[3·heads·d, H]` whose rows are, for each head h in turn, its d query rows, d key rows and
        /// d value rows (GPT-NeoX's `query_key_value`, viewed as `[heads, 3·d]` per token and split in three).
        case interleavedPerHead(String)
        /// One module whose outputs are all queries, then all keys, then all values (GPT-2's `c_attn`, stored
        /// transposed `[H, qW + 2·kvW]`: the three are column ranges).
        case fusedColumns(String)
        /// One module `[qW + 2·kvW, H]` whose rows are all queries, then all keys, then all values (Phi-3's
        /// `qkv_proj`: the three are row ranges).
        case fusedRows(String)
    }

    /// The token embedding `[vocabularySize, H]` (full name).
    public var embedding: String
    /// The final norm module (full name without `.weight`).
    public var finalNorm: String
    /// The output projection `[vocabularySize, H]`: the first of these names that is stored; the embedding when
    /// none is.
    public var outputProjections: [String]
    /// The prefix of layer l's tensors is `layerPrefix + "\(l)."`.
    public var layerPrefix: String
    /// The norm before attention (and before the MLP in a parallel block without ``postAttentionNorm``).
    public var inputNorm: String
    /// The norm before the MLP; nil when the MLP reads ``inputNorm``'s output (a parallel block with one norm).
    public var postAttentionNorm: String?
    public var queryKeyValue: QueryKeyValue
    /// The attention output projection `[H, qW]`.
    public var attentionOutput: String
    /// The gate projection of a gated MLP; nil: a plain MLP down(act(up(h))).
    public var mlpGate: String?
    /// The MLP input projection `[I, H]`.
    public var mlpUp: String
    /// The MLP output projection `[H, I]`.
    public var mlpDown: String
    /// Whether the MLP projections carry biases.
    public var mlpBias: Bool
    /// Per-head LayerNorms (no bias) on queries and keys after their projection, before RoPE: modules whose
    /// entry h (`<module>.<h>.weight`, width head_dim) normalises head h (StableLM's `qk_layernorm`), or, when
    /// ``perHeadNormsStacked``, row h of `<module>.weight`; nil: none.
    public var perHeadQueryNorm: String?
    public var perHeadKeyNorm: String?
    /// Whether the per-head norms are one `<module>.weight` of shape `[heads, head_dim]` (Cohere's `use_qk_norm`)
    /// instead of one module per head.
    public var perHeadNormsStacked = false
    /// Learned absolute positions `[max_position_embeddings, H]` added to the token embedding (GPT-2's `wpe`); nil:
    /// none (positions come from RoPE, or nowhere).
    public var positionEmbedding: String? = nil
    /// Whether the layers' projection weights are stored `[in, out]` (GPT-2's `Conv1D`: y = x W + b) instead of
    /// `[out, in]` (`nn.Linear`: y = x Wᵀ + b). The embedding and the output projection are `[vocab, H]` either way.
    public var transposedWeights = false

    /// A prefix some checkpoints of the architecture store every name without except the head (GPT-2's
    /// `transformer.`: the original hub files store `wte.weight`, `h.0.attn.c_attn.weight`, …); nil: none.
    public var optionalPrefix: String? = nil
    /// The norm before the MLP in sandwich placement (Gemma's `pre_feedforward_layernorm`).
    public var preFeedforwardNorm: String? = nil
    /// The norm of the MLP's output in sandwich and post-norm placement (`post_feedforward_layernorm`); the norm of
    /// attention's output there is ``postAttentionNorm``.
    public var postFeedforwardNorm: String? = nil
    /// One module `[2·I, H]` holding the gate rows then the up rows of a gated MLP (Phi-3's `gate_up_proj`),
    /// used instead of ``mlpGate`` and ``mlpUp``; nil: separate modules.
    public var mlpGateUp: String? = nil

    /// The names with ``optionalPrefix`` removed.
    func withoutOptionalPrefix() -> TensorNaming {
        guard let prefix = optionalPrefix else { return self }
        let strip = { (name: String) in name.hasPrefix(prefix) ? String(name.dropFirst(prefix.count)) : name }
        var naming = self
        naming.embedding = strip(embedding)
        naming.finalNorm = strip(finalNorm)
        naming.layerPrefix = strip(layerPrefix)
        naming.positionEmbedding = positionEmbedding.map(strip)
        naming.optionalPrefix = nil
        return naming
    }

    /// `layerPrefix` + "l.module" (a norm module, without `.weight` / `.bias`).
    func layerModule(_ layer: Int, _ module: String) -> String {
        "\(layerPrefix)\(layer).\(module)"
    }

    /// `layerPrefix` + "l.module.kind".
    func layerTensor(_ layer: Int, _ module: String, _ kind: String = "weight") -> String {
        "\(layerPrefix)\(layer).\(module).\(kind)"
    }
}

extension TensorNaming {
    /// Llama's names (`model.embed_tokens`, `model.layers.{l}.self_attn.q_proj`, …, `model.norm`, `lm_head`), as
    /// every architecture without a naming of its own stores them (``TensorNames``), with the modules its recipe
    /// uses: `self_attn.q_norm` / `k_norm` with q/k norms, `qkv_proj` and `gate_up_proj` when fused, the
    /// feed-forward norms of the sandwich and post-norm placements.
    static func llama(_ config: TransformerConfig) -> TensorNaming {
        var naming = TensorNaming.stableLM
        if config.queryKeyNorm {
            naming.perHeadQueryNorm = "self_attn.q_norm"
            naming.perHeadKeyNorm = "self_attn.k_norm"
        }
        if config.fusedProjections {
            naming.queryKeyValue = .fusedRows("self_attn.qkv_proj")
            naming.mlpGateUp = "mlp.gate_up_proj"
        }
        naming.preFeedforwardNorm = "pre_feedforward_layernorm"
        naming.postFeedforwardNorm = "post_feedforward_layernorm"
        return naming
    }

    /// GPT-NeoX / Pythia (`GPTNeoXForCausalLM`): `gpt_neox.embed_in`, `attention.query_key_value` (interleaved per
    /// head), `attention.dense`, `mlp.dense_h_to_4h` / `dense_4h_to_h` with biases, `gpt_neox.final_layer_norm`,
    /// head `embed_out` (as checkpoints store it; transformers 5 renames it `lm_head` when loading).
    public static let gptNeoX = TensorNaming(
        embedding: "gpt_neox.embed_in.weight", finalNorm: "gpt_neox.final_layer_norm",
        outputProjections: ["embed_out.weight", "lm_head.weight"], layerPrefix: "gpt_neox.layers.",
        inputNorm: "input_layernorm", postAttentionNorm: "post_attention_layernorm",
        queryKeyValue: .interleavedPerHead("attention.query_key_value"), attentionOutput: "attention.dense",
        mlpGate: nil, mlpUp: "mlp.dense_h_to_4h", mlpDown: "mlp.dense_4h_to_h", mlpBias: true)

    /// StableLM (`StableLmForCausalLM`): Llama's names (`model.embed_tokens`, `self_attn.q_proj`, …, `model.norm`,
    /// `lm_head`) on LayerNorms with bias; ``postAttentionNorm`` is dropped for a parallel block and
    /// ``perHeadQueryNorm`` / ``perHeadKeyNorm`` set for `qk_layernorm` by the architecture.
    public static let stableLM = TensorNaming(
        embedding: "model.embed_tokens.weight", finalNorm: "model.norm", outputProjections: ["lm_head.weight"],
        layerPrefix: "model.layers.", inputNorm: "input_layernorm", postAttentionNorm: "post_attention_layernorm",
        queryKeyValue: .separate(query: "self_attn.q_proj", key: "self_attn.k_proj", value: "self_attn.v_proj"),
        attentionOutput: "self_attn.o_proj", mlpGate: "mlp.gate_proj", mlpUp: "mlp.up_proj",
        mlpDown: "mlp.down_proj", mlpBias: false)

    /// Cohere (`CohereForCausalLM`): Llama's names, one norm per layer (`input_layernorm`, a parallel block).
    public static let cohere: TensorNaming = {
        var naming = TensorNaming.stableLM
        naming.postAttentionNorm = nil
        return naming
    }()

    /// GPT-2 (`GPT2LMHeadModel`, as transformers saves it with its `transformer.` prefix, or without it as the
    /// original hub files store it): `transformer.wte`, `wpe`,
    /// `h.{l}.ln_1`, `attn.c_attn` (q | k | v columns), `attn.c_proj`, `ln_2`, `mlp.c_fc`, `mlp.c_proj`, all `Conv1D`
    /// with biases, `transformer.ln_f`, head `lm_head` when stored (else the tied `wte`).
    public static let gpt2 = TensorNaming(
        embedding: "transformer.wte.weight", finalNorm: "transformer.ln_f", outputProjections: ["lm_head.weight"],
        layerPrefix: "transformer.h.", inputNorm: "ln_1", postAttentionNorm: "ln_2",
        queryKeyValue: .fusedColumns("attn.c_attn"), attentionOutput: "attn.c_proj", mlpGate: nil, mlpUp: "mlp.c_fc",
        mlpDown: "mlp.c_proj", mlpBias: true, positionEmbedding: "transformer.wpe.weight", transposedWeights: true,
        optionalPrefix: "transformer.")
}

extension TensorNaming {
    /// An immutable reference to a naming, so that ``TransformerConfig`` (copied into every engine and task) stays
    /// small; equal and hashed by value.
    final class Box: Sendable, Hashable {
        let naming: TensorNaming
        init(_ naming: TensorNaming) { self.naming = naming }
        static func == (a: Box, b: Box) -> Bool { a.naming == b.naming }
        func hash(into hasher: inout Hasher) { hasher.combine(naming) }
    }
}
