import Foundation

/// A problem with a model directory, its files or a family of models.
///
/// The message names the file (and the tensor, where there is one), says what was expected, and how to fix it
/// when there is a fix. An error that wraps another (a file that cannot be read, JSON that does not decode) keeps
/// it as ``cause``; the message still says in a few words what it was, since the command line prints one line.
///
/// Two errors are equal when their kind, path, tensor and message are equal; ``cause`` is not compared.
public struct CheckpointError: Error, Sendable, CustomStringConvertible, Equatable {
    public enum Kind: String, Sendable, Equatable {
        case notADirectory
        /// A model reference that is neither an existing path nor a hub id in the local cache (or is `BASE+ADAPTER`).
        case badReference
        /// A GGUF file (llama.cpp's format) where safetensors weights were expected.
        case ggufFile
        case unreadableFile
        case badConfig
        case noWeights
        case pickleCheckpoint
        case badIndex
        case unsafePath
        case duplicateTensor
        case missingTensor
        case shapeMismatch
        case unsupportedDtype
        case badFamily
        case badArgument
        case writeFailed
        case quantized
    }

    public let kind: Kind
    /// The file or directory concerned.
    public let path: String
    /// The tensor concerned, when there is one.
    public let tensor: String?
    public let message: String
    /// The error this one wraps (a Foundation read or decoding error, …), when there is one.
    public let cause: (any Error & Sendable)?

    public init(
        _ kind: Kind, url: URL, tensor: String? = nil, _ message: String, cause: (any Error & Sendable)? = nil
    ) {
        self.kind = kind
        self.path = url.path
        self.tensor = tensor
        self.message = message
        self.cause = cause
    }

    public static func == (lhs: CheckpointError, rhs: CheckpointError) -> Bool {
        lhs.kind == rhs.kind && lhs.path == rhs.path && lhs.tensor == rhs.tensor && lhs.message == rhs.message
    }

    public var description: String {
        if let tensor {
            return "\(path): tensor '\(tensor)': \(message)"
        }
        return "\(path): \(message)"
    }
}
