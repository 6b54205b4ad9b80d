import Checkpoints
import Foundation
import TestSupport
import Testing

/// What transformers 5.23 does per `model_type`: the tied-head default, the tied embedding's name, the size keys its
/// `attribute_map` renames, and the activation names `ACT2FN` maps to one function.
@Suite("ModelConfig: per-architecture defaults, keys and activation names")
struct ModelConfigArchitectureTests {
    static func config(_ json: [String: JSONValue]) -> ModelConfig { ModelConfig(json: json) }

    /// Expected values read from transformers 5.23's sources: `tie_word_embeddings: bool = …` in
    /// models/<type>/configuration_<type>.py, and `_tied_weights_keys` of the causal-LM class in modeling_<type>.py.
    @Test(arguments: [
        ("llama", false, "model.embed_tokens.weight"), ("mistral", false, "model.embed_tokens.weight"),
        ("qwen2", false, "model.embed_tokens.weight"), ("gpt_neox", false, "gpt_neox.embed_in.weight"),
        ("phi", false, "model.embed_tokens.weight"), ("stablelm", false, "model.embed_tokens.weight"),
        ("gemma", true, "model.embed_tokens.weight"), ("gpt2", true, "transformer.wte.weight"),
        ("falcon", true, "transformer.word_embeddings.weight"),
    ])
    func tiedHeadDefaults(modelType: String, tied: Bool, embedding: String) {
        let absent = Self.config(["model_type": .string(modelType)])
        #expect(absent.wordEmbeddingsTied == tied)
        #expect(absent.tieWordEmbeddings == tied)
        #expect(absent.tiedEmbeddingName == embedding)
        let stated = Self.config(["model_type": .string(modelType), "tie_word_embeddings": .bool(!tied)])
        #expect(stated.wordEmbeddingsTied == !tied)
    }

    /// Without `model_type`, the class decides: LlamaForCausalLM is built for llama, internlm3 and iquestcoder,
    /// all untied by default; GPT2LMHeadModel for gpt2 and gpt-sw3, both tied.
    @Test func classWithoutModelType() {
        let llama = Self.config(["architectures": .array([.string("LlamaForCausalLM")])])
        #expect(llama.wordEmbeddingsTied == false && llama.tiedEmbeddingName == "model.embed_tokens.weight")
        let gpt2 = Self.config(["architectures": .array([.string("GPT2LMHeadModel")])])
        #expect(gpt2.wordEmbeddingsTied == true && gpt2.tiedEmbeddingName == "transformer.wte.weight")
    }

    @Test func unknownModelTypeHasNoDefault() {
        #expect(Self.config(["model_type": .string("my_own_arch")]).wordEmbeddingsTied == nil)
        #expect(Self.config([:]).wordEmbeddingsTied == nil)
    }

    /// GPT2Config.attribute_map: hidden_size → n_embd, num_hidden_layers → n_layer; Llama renames nothing.
    @Test func sizeKeysFollowTheAttributeMap() {
        let gpt2 = Self.config(["model_type": .string("gpt2"), "n_layer": .number(12), "n_embd": .number(768)])
        #expect(gpt2.size("num_hidden_layers")?.key == "n_layer" && gpt2.size("num_hidden_layers")?.value == 12)
        #expect(gpt2.size("hidden_size")?.key == "n_embd" && gpt2.size("hidden_size")?.value == 768)
        #expect(gpt2.size("vocab_size") == nil)
        let llama = Self.config(["model_type": .string("llama"), "num_hidden_layers": .number(2)])
        #expect(llama.sizeKey("num_hidden_layers") == "num_hidden_layers")
        #expect(llama.size("num_hidden_layers")?.value == 2)
    }

    /// ACT2CLS: "silu" → SiLUActivation (F.silu), "swish" → nn.SiLU; "gelu_new" (NewGELUActivation) and
    /// "gelu_pytorch_tanh" (GELUTanh) both compute x·½(1 + tanh(√(2/π)(x + 0.044715x³))); "gelu" is the erf GELU.
    @Test(arguments: [
        ("silu", "swish", true), ("gelu_new", "gelu_pytorch_tanh", true), ("gelu", "gelu_python", true),
        ("gelu_accurate", "gelu_python_tanh", true), ("gelu", "gelu_pytorch_tanh", false), ("silu", "gelu", false),
        ("gelu_fast", "gelu_new", false), ("quick_gelu", "gelu", false),
    ])
    func activationNames(_ a: String, _ b: String, same: Bool) {
        let base = Self.config(["model_type": .string("llama"), "hidden_act": .string(a)])
        let other = Self.config(["model_type": .string("llama"), "hidden_act": .string(b)])
        #expect((ArchitectureMatch.difference(other, from: base) == nil) == same)
    }
}
