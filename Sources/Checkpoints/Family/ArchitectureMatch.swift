import Foundation

/// Whether a model's config.json describes the same architecture as the base's: shapes alone do not tell (a Qwen2
/// and a Llama of one size store the same tensor names and shapes), so the keys that change what the weights
/// compute are compared.
///
/// Compared, when both configs have the key: `model_type`, the class (the first of `architectures`, else the one
/// transformers infers from `model_type`, ``ModelConfig/architecture``), the activation
/// (`hidden_act`, `hidden_activation`; two names of one function, such as `swish` and `silu`, agree), the norm
/// epsilon (`rms_norm_eps`, `layer_norm_eps`, `layer_norm_epsilon`),
/// `rope_theta` (also inside `rope_parameters`), `partial_rotary_factor`, the head split (`num_attention_heads`,
/// under the architecture's own key where its config class renames it, GPT-2's `n_head` — ``ModelConfig/sizeKey(_:)``
/// —, `num_key_value_heads`, `head_dim`: the same projection shapes can be cut into heads differently),
/// `attention_bias`, `mlp_bias`, `sliding_window`, the soft-capping and scaling keys (`attn_logit_softcapping`,
/// `final_logit_softcapping`, `query_pre_attn_scalar`) and `num_experts_per_tok`. Numbers are compared as values
/// (`1e-05` equals `0.00001`). Sizes the tensor shapes show (`hidden_size`, `intermediate_size`, expert counts)
/// are left to the shape checks, which name the tensor.
///
/// Not compared, because a fine-tune of the base may change them: `dtype` / `torch_dtype`, `_name_or_path`,
/// `transformers_version`, `use_cache`, token ids, `vocab_size` (a tokenizer rule aligns the rows),
/// `tie_word_embeddings` (a stored lm_head is merged as stored), `num_hidden_layers` (`slices` choose layers),
/// `max_position_embeddings` and `rope_scaling` (context extension), dropouts and `initializer_range`.
package enum ArchitectureMatch {
    static let stringKeys = ["model_type", "hidden_act", "hidden_activation"]
    static let numberKeys = [
        "rms_norm_eps", "layer_norm_eps", "layer_norm_epsilon", "partial_rotary_factor", "num_attention_heads",
        "num_key_value_heads", "head_dim", "sliding_window", "attn_logit_softcapping", "final_logit_softcapping",
        "query_pre_attn_scalar", "num_experts_per_tok",
    ]
    static let boolKeys = ["attention_bias", "mlp_bias"]

    /// The first way `other` differs from `base` in architecture, as `"<key> is <other's>, but <base's>"` pieces:
    /// `(key, other's value, base's value)`; `nil` when they agree on every key both have.
    package static func difference(
        _ other: ModelConfig, from base: ModelConfig
    ) -> (
        key: String, value: String, baseValue: String
    )? {
        for key in stringKeys {
            if let a = other.string(key), let b = base.string(key), a != b {
                if key != "model_type", sameActivation(a, b) { continue }
                return (key, a, b)
            }
        }
        if let a = other.architecture, let b = base.architecture, a != b {
            return ("architectures", a, b)
        }
        for key in boolKeys {
            if let a = other.bool(key), let b = base.bool(key), a != b { return (key, "\(a)", "\(b)") }
        }
        for key in numberKeys {
            // Under the architecture's own name where its config class renames the key (GPT-2's `n_head`).
            let otherKey = other.sizeKey(key), baseKey = base.sizeKey(key)
            if let a = other.double(otherKey), let b = base.double(baseKey), a != b {
                return (otherKey, describe(other.json[otherKey]), describe(base.json[baseKey]))
            }
        }
        if let a = other.ropeTheta, let b = base.ropeTheta, a != b { return ("rope_theta", "\(a)", "\(b)") }
        return nil
    }

    /// Activation names transformers 5.23's `ACT2FN` maps to the same function, each to one spelling: `swish`
    /// (`nn.SiLU`) and `silu` (`SiLUActivation`) both compute `F.silu`, x·σ(x); `gelu_python` is `gelu`'s exact
    /// x·½(1 + erf(x/√2)) written out; `gelu_new`, `gelu_python_tanh` and `gelu_accurate` write out the tanh
    /// approximation `gelu_pytorch_tanh` computes, x·½(1 + tanh(√(2/π)(x + 0.044715x³))). `gelu_fast` is left
    /// apart (its constant is √(2/π) rounded to 10 digits), as are `quick_gelu` and every other activation.
    static let activationSpellings = [
        "swish": "silu", "gelu_python": "gelu", "gelu_new": "gelu_pytorch_tanh",
        "gelu_python_tanh": "gelu_pytorch_tanh", "gelu_accurate": "gelu_pytorch_tanh",
    ]

    /// Whether activation names `a` and `b` name one function (``activationSpellings``).
    static func sameActivation(_ a: String, _ b: String) -> Bool {
        (activationSpellings[a] ?? a) == (activationSpellings[b] ?? b)
    }

    private static func describe(_ value: JSONValue?) -> String {
        guard let number = value?.doubleValue else { return "absent" }
        return value?.intValue.map(String.init) ?? "\(number)"
    }
}
