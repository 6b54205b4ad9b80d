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
    }

    public let kind: Kind
    public let description: String

    public init(_ kind: Kind, _ description: String) {
        self.kind = kind
        self.description = description
    }
}
