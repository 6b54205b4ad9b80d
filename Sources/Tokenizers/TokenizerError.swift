/// Why a `tokenizer.json` cannot be used or a text cannot be encoded: one message that names the file and the
/// component, as the command line prints it. An error that wraps another (a file that cannot be read, a regular
/// expression Foundation refuses) keeps it as ``cause``.
public struct TokenizerError: Error, Sendable, CustomStringConvertible {
    public let message: String
    /// The error this one wraps, when there is one.
    public let cause: (any Error & Sendable)?

    init(_ message: String, cause: (any Error & Sendable)? = nil) {
        self.message = message
        self.cause = cause
    }

    public var description: String { message }
}
