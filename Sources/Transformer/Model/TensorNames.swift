/// Hugging Face tensor names of a Llama-family causal LM (`model.layers.{l}.self_attn.q_proj.weight`, …).
enum TensorNames {
    static let embedding = "model.embed_tokens.weight"
    static let finalNorm = "model.norm.weight"
    static let lmHead = "lm_head.weight"

    struct Layer {
        let prefix: String
        init(_ index: Int) { prefix = "model.layers.\(index)." }
        var inputNorm: String { prefix + "input_layernorm.weight" }
        var postAttentionNorm: String { prefix + "post_attention_layernorm.weight" }
        func attention(_ projection: String, _ kind: String = "weight") -> String {
            prefix + "self_attn.\(projection).\(kind)"
        }
        func mlp(_ projection: String) -> String { prefix + "mlp.\(projection).weight" }
    }
}
