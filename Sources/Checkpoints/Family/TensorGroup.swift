/// Where a tensor sits in a decoder-only language model, read from its name: before the layers, in layer i, or
/// after the layers.
///
/// Layers are recognised by a `layers.<i>.` (or `h.<i>.`, `blocks.<i>.`, `layer.<i>.`) component. The other names
/// are placed by the tables of MergeKit 0.1.5's architecture definitions (`mergekit/_data/architectures/*.json`,
/// `pre_weights` and `post_weights`), matched on whole dotted components at the end of the name:
///
/// - llama, mistral, mixtral, qwen2, qwen3, qwen3_moe, gemma, gemma2, gemma3_text, olmo2, cohere, granite, phi3,
///   stablelm, starcoder2: before `model.embed_tokens.weight`; after `model.norm.weight` (and `.bias`: stablelm,
///   starcoder2), `lm_head.weight`;
/// - phi: before `model.embed_tokens.weight`; after `model.final_layernorm.weight`, `.bias`, `lm_head.weight`,
///   `.bias`;
/// - gpt2, gpt_bigcode: before `transformer.wte.weight`, `transformer.wpe.weight`; after `transformer.ln_f.weight`,
///   `.bias`, `lm_head.weight`;
/// - gpt_neox: before `gpt_neox.embed_in.weight`; after `gpt_neox.final_layer_norm.weight`, `.bias`,
///   `embed_out.weight`;
/// - falcon: before `transformer.word_embeddings.weight`; after `transformer.ln_f.weight`, `.bias`,
///   `lm_head.weight`.
///
/// Groups: the token embedding (`embed_tokens`, `wte`, `word_embeddings`, `embed_in`, `tok_embeddings`) is
/// `embeddings`; a learned position embedding (`wpe`) is `positionEmbeddings`; the final norm (`norm`, `ln_f`,
/// `final_layer_norm`, `final_layernorm`, `norm_f`) is `finalNorm`; the output projection (`lm_head.*`,
/// `output.weight`, `embed_out.weight`) is `lmHead`. Anything else is `other`: it has no known place, and a
/// `slices:` merge refuses it (``isBeforeLayers``, ``isAfterLayers``).
public enum TensorGroup: Sendable, Hashable, Comparable, CustomStringConvertible {
    case embeddings
    case positionEmbeddings
    case layer(Int)
    case finalNorm
    case lmHead
    case other

    public init(tensorName name: String) {
        if let index = Self.layerIndex(in: name) {
            self = .layer(index)
        } else if name.contains("embed_tokens") || name.contains("word_embeddings")
            || Self.endsWith(name, ["wte.weight", "embed_in.weight", "tok_embeddings.weight"])
        {
            self = .embeddings
        } else if Self.endsWith(name, ["wpe.weight"]) {
            self = .positionEmbeddings
        } else if name.hasPrefix("lm_head") || name.hasSuffix("output.weight")
            || Self.endsWith(name, ["embed_out.weight"])
        {
            self = .lmHead
        } else if Self.endsWith(
            name,
            ["norm.weight", "norm.bias", "ln_f.weight", "ln_f.bias", "final_layer_norm.weight",
                "final_layer_norm.bias", "final_layernorm.weight", "final_layernorm.bias", "norm_f.weight"])
        {
            self = .finalNorm
        } else {
            self = .other
        }
    }

    /// Whether `name` is one of `suffixes` or ends with `.` followed by one (whole dotted components only).
    private static func endsWith(_ name: String, _ suffixes: [String]) -> Bool {
        suffixes.contains { name == $0 || name.hasSuffix("." + $0) }
    }

    /// The label used in reports: `embeddings`, `position_embeddings`, `layers.12`, `final_norm`, `lm_head`, `other`.
    public var description: String {
        switch self {
        case .embeddings: "embeddings"
        case .positionEmbeddings: "position_embeddings"
        case .layer(let index): "layers.\(index)"
        case .finalNorm: "final_norm"
        case .lmHead: "lm_head"
        case .other: "other"
        }
    }

    /// The layer index, for `.layer`.
    public var layerIndex: Int? {
        if case .layer(let index) = self { return index }
        return nil
    }

    /// Whether the tensor comes before the first layer (MergeKit's `pre_weights`): the embeddings.
    public var isBeforeLayers: Bool { self == .embeddings || self == .positionEmbeddings }

    /// Whether the tensor comes after the last layer (MergeKit's `post_weights`): the final norm and the head.
    public var isAfterLayers: Bool { self == .finalNorm || self == .lmHead }

    private var rank: Int {
        switch self {
        case .embeddings: 0
        case .positionEmbeddings: 1
        case .layer: 2
        case .finalNorm: 3
        case .lmHead: 4
        case .other: 5
        }
    }

    public static func < (lhs: TensorGroup, rhs: TensorGroup) -> Bool {
        if case .layer(let a) = lhs, case .layer(let b) = rhs { return a < b }
        return lhs.rank < rhs.rank
    }

    static func layerIndex(in name: String) -> Int? {
        let parts = name.split(separator: ".")
        for (offset, part) in parts.enumerated() where ["layers", "h", "blocks", "layer"].contains(part) {
            if offset + 1 < parts.count, let index = Int(parts[offset + 1]) { return index }
        }
        return nil
    }
}
