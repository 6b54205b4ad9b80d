/// One row of the architecture table: a Hugging Face decoder family, the `config.json` keys it reads (typed,
/// validated, with transformers' defaults) and the block recipe it sets on ``TransformerConfig``.
///
/// Adding an architecture is one file with a type conforming to this protocol, its entry in
/// ``ArchitectureTable/definitions``, and a reference fixture. Keys that would change the maths but that the
/// recipe lacks are refused by name in ``configure(_:)``, never ignored.
protocol ArchitectureDefinition {
    /// The family's `model_type` and causal-LM class.
    static var architecture: TransformerConfig.Architecture { get }
    /// Reads the keys of a `config.json` of this family into a config with this family's recipe.
    static func configure(_ keys: ConfigKeys) throws -> TransformerConfig
}

/// The architectures the forward pass implements, looked up by `model_type` or causal-LM class name.
enum ArchitectureTable {
    static var definitions: [any ArchitectureDefinition.Type] {
        [
            LlamaArchitecture.self, MistralArchitecture.self, Qwen2Architecture.self, Qwen3Architecture.self,
            Gemma2Architecture.self, Gemma3TextArchitecture.self,
            GraniteArchitecture.self, Olmo2Architecture.self, Phi3Architecture.self,
            MixtralArchitecture.self, Qwen3MoeArchitecture.self,
            GPTNeoXArchitecture.self, StableLMArchitecture.self, GPT2Architecture.self,
            CohereArchitecture.self,
        ]
    }

    /// "model_type llama, mistral, … (LlamaForCausalLM, …)", for refusal messages.
    static var supportedList: String {
        let architectures = definitions.map { $0.architecture }
        return "supported: model_type \(architectures.map { $0.modelType }.joined(separator: ", ")) "
            + "(\(architectures.map { $0.causalLMClassName }.joined(separator: ", ")))"
    }

    /// The definition named by `model_type`, else by `architectures`; any `architectures` entry must be a causal
    /// LM of a supported family (a `…ForSequenceClassification` has no `lm_head` to run).
    static func definition(for keys: ConfigKeys) throws -> any ArchitectureDefinition.Type {
        let modelType = try keys.string("model_type")
        let classes = keys.strings("architectures") ?? []
        let byClass = { (name: String) in definitions.first { $0.architecture.causalLMClassName == name } }
        if let unknown = classes.first(where: { byClass($0) == nil }) {
            throw TransformerError(
                .unsupportedArchitecture,
                "architecture \(unknown)\(modelType.map { " (model_type \($0))" } ?? "") is not implemented by the "
                    + "forward pass; \(supportedList)"
            )
        }
        if let modelType {
            guard let definition = definitions.first(where: { $0.architecture.modelType == modelType }) else {
                throw TransformerError(
                    .unsupportedArchitecture,
                    "model_type \(modelType) is not implemented by the forward pass; \(supportedList)")
            }
            return definition
        }
        if let name = classes.first, let definition = byClass(name) {
            return definition
        }
        throw TransformerError(
            .unsupportedArchitecture, "config.json has neither model_type nor architectures; \(supportedList)")
    }
}
