/// Hugging Face tensor names of the table's causal LMs (`model.layers.{l}.self_attn.q_proj.weight`, …); which of
/// them a model has follows from its recipe (``TransformerConfig/tensorShapes(storesHead:)``).
enum TensorNames {
    static let embedding = "model.embed_tokens.weight"
    static let finalNorm = "model.norm.weight"
    static let lmHead = "lm_head.weight"

    struct Layer {
        let prefix: String
        init(_ index: Int) { prefix = "model.layers.\(index)." }
        var inputNorm: String { prefix + "input_layernorm.weight" }
        var postAttentionNorm: String { prefix + "post_attention_layernorm.weight" }
        var preFeedforwardNorm: String { prefix + "pre_feedforward_layernorm.weight" }
        var postFeedforwardNorm: String { prefix + "post_feedforward_layernorm.weight" }
        func attention(_ projection: String, _ kind: String = "weight") -> String {
            prefix + "self_attn.\(projection).\(kind)"
        }
        func mlp(_ projection: String) -> String { prefix + "mlp.\(projection).weight" }
    }
}
