/// Why a `tokenizer.json` cannot be used or a text cannot be encoded: one message that names the file and the
/// component, as the command line prints it.
public struct TokenizerError: Error, Sendable, CustomStringConvertible {
    public let message: String

    init(_ message: String) { self.message = message }

    public var description: String { message }
}
