import Foundation

/// A problem with a model directory, its files or a family of models.
///
/// The message names the file (and the tensor, where there is one), says what was expected, and how to fix it
/// when there is a fix.
public struct CheckpointError: Error, Sendable, CustomStringConvertible, Equatable {
    public enum Kind: String, Sendable, Equatable {
        case notADirectory
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

    public init(_ kind: Kind, url: URL, tensor: String? = nil, _ message: String) {
        self.kind = kind
        self.path = url.path
        self.tensor = tensor
        self.message = message
    }

    public var description: String {
        if let tensor {
            return "\(path): tensor '\(tensor)': \(message)"
        }
        return "\(path): \(message)"
    }
}
