import Checkpoints
import Testing

/// One architecture of MergeKit 0.1.5 (`mergekit/_data/architectures/*.json`): its `pre_weights`, `post_weights`
/// and two of its `layer_templates` (layer index 1), copied from the JSON files.
struct MergeKitArchitecture: Sendable, CustomStringConvertible {
    let modelType: String
    let pre: [String]
    let post: [String]
    let layer: [String]

    init(_ modelType: String, pre: [String], post: [String], layer: [String]) {
        self.modelType = modelType
        self.pre = pre
        self.post = post
        self.layer = layer
    }

    var description: String { modelType }
}

@Suite("TensorGroup places every architecture's tensors as MergeKit does")
struct TensorPlacementTests {
    static let architectures = [
        MergeKitArchitecture(
            "llama", pre: ["model.embed_tokens.weight"],
            post: ["model.norm.weight", "lm_head.weight"],
            layer: ["model.layers.1.input_layernorm.weight", "model.layers.1.self_attn.q_proj.weight"]),
        MergeKitArchitecture(
            "mistral", pre: ["model.embed_tokens.weight"],
            post: ["model.norm.weight", "lm_head.weight"],
            layer: ["model.layers.1.input_layernorm.weight", "model.layers.1.self_attn.q_proj.weight"]),
        MergeKitArchitecture(
            "qwen2", pre: ["model.embed_tokens.weight"],
            post: ["model.norm.weight", "lm_head.weight"],
            layer: ["model.layers.1.input_layernorm.weight", "model.layers.1.mlp.down_proj.weight"]),
        MergeKitArchitecture(
            "qwen3", pre: ["model.embed_tokens.weight"],
            post: ["model.norm.weight", "lm_head.weight"],
            layer: ["model.layers.1.input_layernorm.weight", "model.layers.1.mlp.down_proj.weight"]),
        MergeKitArchitecture(
            "gemma", pre: ["model.embed_tokens.weight"],
            post: ["model.norm.weight"],
            layer: ["model.layers.1.input_layernorm.weight", "model.layers.1.self_attn.q_proj.weight"]),
        MergeKitArchitecture(
            "gemma2", pre: ["model.embed_tokens.weight"],
            post: ["model.norm.weight", "lm_head.weight"],
            layer: ["model.layers.1.input_layernorm.weight", "model.layers.1.self_attn.q_proj.weight"]),
        MergeKitArchitecture(
            "gemma3_text", pre: ["model.embed_tokens.weight"],
            post: ["model.norm.weight", "lm_head.weight"],
            layer: ["model.layers.1.input_layernorm.weight", "model.layers.1.self_attn.q_proj.weight"]),
        MergeKitArchitecture(
            "phi3", pre: ["model.embed_tokens.weight"],
            post: ["lm_head.weight", "model.norm.weight"],
            layer: ["model.layers.1.input_layernorm.weight", "model.layers.1.post_attention_layernorm.weight"]),
        MergeKitArchitecture(
            "mixtral", pre: ["model.embed_tokens.weight"],
            post: ["model.norm.weight", "lm_head.weight"],
            layer: ["model.layers.1.input_layernorm.weight", "model.layers.1.self_attn.q_proj.weight"]),
        MergeKitArchitecture(
            "olmo2", pre: ["model.embed_tokens.weight"],
            post: ["model.norm.weight", "lm_head.weight"],
            layer: ["model.layers.1.self_attn.q_proj.weight", "model.layers.1.self_attn.q_norm.weight"]),
        MergeKitArchitecture(
            "gpt2", pre: ["transformer.wte.weight", "transformer.wpe.weight"],
            post: ["transformer.ln_f.weight", "transformer.ln_f.bias", "lm_head.weight"],
            layer: ["transformer.h.1.attn.c_attn.weight", "transformer.h.1.attn.c_attn.bias"]),
        MergeKitArchitecture(
            "gpt_neox", pre: ["gpt_neox.embed_in.weight"],
            post: ["gpt_neox.final_layer_norm.bias", "gpt_neox.final_layer_norm.weight", "embed_out.weight"],
            layer: ["gpt_neox.layers.1.attention.dense.weight", "gpt_neox.layers.1.attention.dense.bias"]),
        MergeKitArchitecture(
            "stablelm_epoch", pre: ["model.embed_tokens.weight"],
            post: ["model.norm.weight", "lm_head.weight"],
            layer: ["model.layers.1.input_layernorm.weight", "model.layers.1.input_layernorm.bias"]),
        MergeKitArchitecture(
            "stablelm", pre: ["model.embed_tokens.weight"],
            post: ["model.norm.weight", "model.norm.bias", "lm_head.weight"],
            layer: ["model.layers.1.input_layernorm.weight", "model.layers.1.input_layernorm.bias"]),
        MergeKitArchitecture(
            "cohere", pre: ["model.embed_tokens.weight"],
            post: ["model.norm.weight", "lm_head.weight"],
            layer: ["model.layers.1.input_layernorm.weight", "model.layers.1.mlp.down_proj.weight"]),
        MergeKitArchitecture(
            "granite", pre: ["model.embed_tokens.weight"],
            post: ["model.norm.weight", "lm_head.weight"],
            layer: ["model.layers.1.input_layernorm.weight", "model.layers.1.self_attn.q_proj.weight"]),
        MergeKitArchitecture(
            "falcon", pre: ["transformer.word_embeddings.weight"],
            post: ["transformer.ln_f.weight", "transformer.ln_f.bias", "lm_head.weight"],
            layer: ["transformer.h.1.ln_attn.bias", "transformer.h.1.ln_attn.weight"]),
        MergeKitArchitecture(
            "phi", pre: ["model.embed_tokens.weight"],
            post: ["lm_head.bias", "lm_head.weight", "model.final_layernorm.bias", "model.final_layernorm.weight"],
            layer: ["model.layers.1.input_layernorm.bias", "model.layers.1.input_layernorm.weight"]),
        MergeKitArchitecture(
            "starcoder2", pre: ["model.embed_tokens.weight"],
            post: ["lm_head.weight", "model.norm.bias", "model.norm.weight"],
            layer: ["model.layers.1.input_layernorm.bias", "model.layers.1.input_layernorm.weight"]),
        MergeKitArchitecture(
            "qwen3_moe", pre: ["model.embed_tokens.weight"],
            post: ["model.norm.weight", "lm_head.weight"],
            layer: ["model.layers.1.input_layernorm.weight", "model.layers.1.mlp.experts.down_proj"]),
        MergeKitArchitecture(
            "gpt_bigcode", pre: ["transformer.wte.weight", "transformer.wpe.weight"],
            post: ["transformer.ln_f.weight", "transformer.ln_f.bias", "lm_head.weight"],
            layer: ["transformer.h.1.attn.c_attn.weight", "transformer.h.1.attn.c_attn.bias"]),
    ]

    /// Pre-weights come before the layers, post-weights after, layer templates in their layer; none is `other`.
    @Test(arguments: architectures)
    func mergeKitPlacement(_ architecture: MergeKitArchitecture) {
        for name in architecture.pre {
            #expect(TensorGroup(tensorName: name).isBeforeLayers, "\(name)")
        }
        for name in architecture.post {
            #expect(TensorGroup(tensorName: name).isAfterLayers, "\(name)")
        }
        for name in architecture.layer {
            #expect(TensorGroup(tensorName: name) == .layer(1), "\(name)")
        }
    }

    @Test func groupsOfTheNewNames() {
        #expect(TensorGroup(tensorName: "transformer.wpe.weight") == .positionEmbeddings)
        #expect(TensorGroup(tensorName: "gpt_neox.embed_in.weight") == .embeddings)
        #expect(TensorGroup(tensorName: "embed_out.weight") == .lmHead)
        #expect(TensorGroup(tensorName: "gpt_neox.final_layer_norm.bias") == .finalNorm)
        #expect(TensorGroup(tensorName: "model.final_layernorm.weight") == .finalNorm)
        #expect(TensorGroup(tensorName: "transformer.ln_f.bias") == .finalNorm)
        // Whole dotted components only: a name that merely ends in the same letters has no place.
        #expect(TensorGroup(tensorName: "model.embedding_norm.weight") == .other)
        #expect(TensorGroup(tensorName: "model.rotary_emb.inv_freq") == .other)
        let sorted: [TensorGroup] = [.lmHead, .layer(0), .positionEmbeddings, .finalNorm, .embeddings].sorted()
        #expect(sorted == [.embeddings, .positionEmbeddings, .layer(0), .finalNorm, .lmHead])
    }
}
