/// Why a forward pass cannot be built or run: an unsupported model, a bad config or weight file, or bad input.
///
/// The ``description`` names the config key, tensor or token concerned and what was expected.
public struct TransformerError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The broad reason, for callers that react differently (the CLI exits 2 on all of them).
    public enum Kind: Sendable, Hashable {
        /// An architecture or `model_type` this module does not implement.
        case unsupportedArchitecture
        /// A feature of a supported architecture that is not implemented (RoPE scaling, MoE, sliding window, …).
        case unsupportedFeature
        /// A config key is missing, has the wrong type, or an impossible value.
        case badConfig
        /// A tensor the model needs is not stored.
        case missingTensor
        /// A tensor is stored with another shape than the config implies, or differs between base and task model.
        case shapeMismatch
        /// A token id is negative or not below the vocabulary size.
        case tokenOutOfRange
        /// The prompt is empty or longer than the model handles.
        case badPromptLength
        /// A coefficient vector does not match the task models.
        case badCoefficients
        /// A weight of a point θ0 + Σ c_t τ_t, or a logit it produces, is NaN or ±Inf.
        case nonFinite
    }

    public let kind: Kind
    public let description: String
    /// For non-finite logits: the prompt of the batch (an index into ``PromptBatch/prompts``) they belong to, so a
    /// caller can name its own item (a task file's line).
    public let prompt: Int?

    public init(_ kind: Kind, _ description: String, prompt: Int? = nil) {
        self.kind = kind
        self.description = description
        self.prompt = prompt
    }
}

extension TransformerError {
    /// A weight of the point θ0 + Σ c_t τ_t (`coefficients`; all zero is the base) is not finite.
    static func nonFiniteWeight(
        _ tensor: String, element: Int, value: Float, coefficients: [Float], point: Int? = nil
    ) -> TransformerError {
        let subject =
            coefficients.allSatisfy { $0 == 0 }
            ? "the model"
            : "the point θ0 + Σ c·τ with c = \(coefficients)\(point.map { " (point \($0))" } ?? "")"
        return TransformerError(
            .nonFinite,
            "tensor \(tensor): element \(element) of \(subject) is \(value); expected finite weights (a NaN/Inf in "
                + "the checkpoint — `metamerge analyze` counts them per tensor — or an overflow of the combination)"
        )
    }
}
