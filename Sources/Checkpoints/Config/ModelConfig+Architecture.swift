extension ModelConfig {
    /// Whether transformers ties `lm_head.weight` to the input embedding for this config: `tie_word_embeddings`
    /// when config.json sets it, else the default of the `model_type`'s config class (``CausalLMClasses``: `false`
    /// for Llama, Mistral, Qwen2, Qwen3, Mixtral, Phi-3, GPT-NeoX, OLMo 2, …; `true` for Gemma, GPT-2, Falcon, …).
    ///
    /// A config.json without `model_type` is read through the first of its `architectures` (the model types whose
    /// causal-LM class it is, when they agree). `nil` when neither is known (a `model_type` or class transformers
    /// 5.23 does not build as a causal LM).
    public var wordEmbeddingsTied: Bool? {
        bool("tie_word_embeddings") ?? Self.lookUp(CausalLMClasses.tiesWordEmbeddingsByDefault, config: self)
    }

    /// The value `table` (keyed by `model_type`) gives `config`: its `model_type`'s, or for a config without
    /// `model_type` the one every model type whose causal-LM class is the first of its `architectures` has, when
    /// there is such a model type and they all agree.
    static func lookUp<Value: Equatable>(_ table: [String: Value], config: ModelConfig) -> Value? {
        if let modelType = config.modelType { return table[modelType] }
        guard let name = config.architectures.first else { return nil }
        let values = CausalLMClasses.byModelType.filter { $0.value == name }.keys.map { table[$0] }
        guard let first = values.first, let value = first, values.allSatisfy({ $0 == value }) else { return nil }
        return value
    }

    /// Where ``wordEmbeddingsTied`` comes from, for messages: `config.json says tie_word_embeddings: false`, or
    /// `config.json has no tie_word_embeddings and transformers' default for model_type falcon is true`.
    package var wordEmbeddingsTiedReason: String {
        if let explicit = bool("tie_word_embeddings") { return "config.json says tie_word_embeddings: \(explicit)" }
        guard let tied = wordEmbeddingsTied, let name = modelType.map({ "model_type \($0)" }) ?? architectures.first
        else { return "config.json has no tie_word_embeddings" }
        return "config.json has no tie_word_embeddings and transformers' default for \(name) is \(tied)"
    }

    /// The weight transformers ties `lm_head.weight` to for this `model_type` (the causal-LM class's
    /// `_tied_weights_keys`: `model.embed_tokens.weight`, GPT-2's `transformer.wte.weight`, Falcon's
    /// `transformer.word_embeddings.weight`, GPT-NeoX's `gpt_neox.embed_in.weight`, …); `nil` when unknown.
    package var tiedEmbeddingName: String? {
        Self.lookUp(CausalLMClasses.tiedEmbeddingByModelType, config: self)
    }

    /// The key config.json holds size `key` (`num_hidden_layers`, `hidden_size`, `vocab_size`,
    /// `num_attention_heads`, `max_position_embeddings`) under for this `model_type`: the config class's own name
    /// where its `attribute_map` renames the key (GPT-2: `n_layer`, `n_embd`, `n_head`, `n_positions`), else `key`.
    package func sizeKey(_ key: String) -> String {
        modelType.flatMap { CausalLMClasses.sizeKeysByModelType[$0]?[key] } ?? key
    }

    /// Integer size `key` read under this architecture's own name (``sizeKey(_:)``), else under `key` itself;
    /// with the key it was read from.
    package func size(_ key: String) -> (key: String, value: Int)? {
        let own = sizeKey(key)
        if let value = int(own) { return (own, value) }
        if own != key, let value = int(key) { return (key, value) }
        return nil
    }

    /// The keys of a config.json that hold one entry per layer (transformers 5.23): `layer_types` (Qwen2/3,
    /// Gemma 2/3, Mistral, Cohere2, SmolLM3, …), `mlp_layer_types`, `layers_block_type`, `no_rope_layers`
    /// (SmolLM3, Llama 4), `num_attention_heads_per_layer`, `num_key_value_heads_per_layer`, `layer_rope_theta`.
    package static let perLayerListKeys = [
        "layer_types", "mlp_layer_types", "layers_block_type", "no_rope_layers", "num_attention_heads_per_layer",
        "num_key_value_heads_per_layer", "layer_rope_theta",
    ]
}
