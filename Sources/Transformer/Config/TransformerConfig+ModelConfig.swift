import Checkpoints
import Foundation

extension TransformerConfig {
    /// Reads a `config.json` of an architecture of the table, refusing by name everything the forward pass does
    /// not implement.
    ///
    /// Supported (``ArchitectureTable``; each architecture's file lists the keys it reads and their defaults):
    /// `model_type` `llama`, `mistral`, `qwen2`, `qwen3`, `gemma2`, `gemma3_text`, `granite`, `olmo2`, `phi3`,
    /// `mixtral`, `qwen3_moe` (or, without `model_type`, the `architectures` entry `LlamaForCausalLM`,
    /// `MistralForCausalLM`, `Qwen2ForCausalLM`, `Qwen3ForCausalLM`, `Gemma2ForCausalLM`, `Gemma3ForCausalLM`,
    /// `GraniteForCausalLM`, `Olmo2ForCausalLM`, `Phi3ForCausalLM`, `MixtralForCausalLM`, `Qwen3MoeForCausalLM`);
    /// RoPE types default, linear, llama3, yarn and dynamic (and longrope for Phi-3); sliding windows per layer;
    /// attention and final-logit soft-capping; SwiGLU and GeGLU MLPs; top-k routed experts (``MixtureOfExperts``);
    /// tied or untied embeddings.
    ///
    /// - Throws: ``TransformerError`` — `.unsupportedArchitecture` for another model type (the message lists the
    ///   supported ones); `.unsupportedFeature` for a RoPE type other than those five (`longrope` outside Phi-3,
    ///   …), a `partial_rotary_factor` ≠ 1 outside Phi-3, mixture-of-experts keys (`num_local_experts`,
    ///   `num_experts`, `n_routed_experts`) outside Mixtral and Qwen3-MoE, `mlp_bias`, another activation, a
    ///   `quantization_config`, unknown `layer_types` entries, bidirectional attention; `.badConfig` for missing or
    ///   inconsistent sizes.
    public init(_ config: ModelConfig) throws {
        try self.init(json: config.json)
    }

    /// ``init(_:)`` on the `config.json` of `checkpoint`; an error names that file.
    public init(checkpoint: Checkpoint) throws {
        do {
            try self.init(checkpoint.config)
        } catch let error as TransformerError {
            let file = checkpoint.directory.appendingPathComponent("config.json").path
            throw TransformerError(error.kind, "\(file): \(error.description)", prompt: error.prompt)
        }
    }

    /// ``init(_:)`` on the keys of a `config.json` object.
    public init(json: [String: JSONValue]) throws {
        let keys = ConfigKeys(json: json)
        self = try ArchitectureTable.definition(for: keys).configure(keys)
        try validate()
    }
}
