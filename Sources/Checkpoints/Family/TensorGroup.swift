/// Where a tensor sits in a Llama-family model, read from its name.
///
/// Layers are recognised by a `layers.<i>.` (or `h.<i>.`, `blocks.<i>.`) component; the input embedding, the
/// final norm and the output projection are their own groups; anything else is `other`.
public enum TensorGroup: Sendable, Hashable, Comparable, CustomStringConvertible {
    case embeddings
    case layer(Int)
    case finalNorm
    case lmHead
    case other

    public init(tensorName name: String) {
        if let index = Self.layerIndex(in: name) {
            self = .layer(index)
        } else if name.contains("embed_tokens") || name.hasSuffix("wte.weight") || name.contains("word_embeddings") {
            self = .embeddings
        } else if name.hasPrefix("lm_head") || name.hasSuffix("output.weight") {
            self = .lmHead
        } else if name == "model.norm.weight" || name == "norm.weight" || name.hasSuffix("ln_f.weight")
            || name == "model.norm.bias"
        {
            self = .finalNorm
        } else {
            self = .other
        }
    }

    /// The label used in reports: `embeddings`, `layers.12`, `final_norm`, `lm_head`, `other`.
    public var description: String {
        switch self {
        case .embeddings: "embeddings"
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

    private var rank: Int {
        switch self {
        case .embeddings: 0
        case .layer: 1
        case .finalNorm: 2
        case .lmHead: 3
        case .other: 4
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
