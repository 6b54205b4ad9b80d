import Foundation

/// A problem with a merge configuration or with the models it names.
///
/// Each is one line that names the config file, the key (or tensor, or model) and what was expected. An error that
/// wraps another (a file that cannot be read, YAML that does not parse, a bad value found for one tensor) keeps it
/// as ``cause``.
///
/// Two errors are equal when their kind, file and message are equal; ``cause`` is not compared.
public struct MergeConfigError: Error, Sendable, CustomStringConvertible, Equatable {
    public enum Kind: String, Sendable, Equatable {
        /// Not YAML, or not a mapping at the top level.
        case syntax
        /// A key the tool does not support (`slices`, `modules`, `tokenizer`, `tokenizer_source: union`, …).
        case unsupportedKey
        /// A key no MergeKit config has (a typo).
        case unknownKey
        /// A required key is absent (`merge_method`, `models`, `base_model` for a method that needs one).
        case missingKey
        /// A value of the wrong type or out of range.
        case badValue
        /// A malformed gradient or conditional.
        case badGradient
        /// `merge_method` names no supported method.
        case unknownMethod
        /// A model reference that cannot be opened (missing directory, hub id, LoRA).
        case badModel
        /// A required parameter has no value for some tensor and model.
        case missingParameter
        /// The models do not fit the method (count, base, shapes).
        case incompatibleModels
    }

    public let kind: Kind
    /// The config file, when the problem is in one.
    public let file: String?
    public let message: String
    /// The error this one wraps (a read or YAML error, the ``AnalysisError`` of a gate, the error a tensor's value
    /// raised before the tensor was named), when there is one.
    public let cause: (any Error & Sendable)?

    public init(_ kind: Kind, file: URL? = nil, _ message: String, cause: (any Error & Sendable)? = nil) {
        self.kind = kind
        self.file = file?.path
        self.message = message
        self.cause = cause
    }

    public static func == (lhs: MergeConfigError, rhs: MergeConfigError) -> Bool {
        lhs.kind == rhs.kind && lhs.file == rhs.file && lhs.message == rhs.message
    }

    public var description: String {
        if let file { return "\(file): \(message)" }
        return message
    }
}
