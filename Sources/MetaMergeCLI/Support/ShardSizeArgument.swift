import ArgumentParser
import Checkpoints

/// `merge --out-shard-size`: a size with MergeKit's suffixes (5GB, 500MB, 2B), parsed once (``ByteSize``) when the
/// argument is read; ``validate()`` refuses one that is not a size.
struct ShardSizeArgument: ExpressibleByArgument, ExpressibleByStringLiteral, Sendable {
    let text: String
    /// `nil` when ``text`` is not a size.
    let size: ByteSize?

    init(argument: String) {
        text = argument
        size = ByteSize(parsing: argument)
    }

    init(stringLiteral value: String) { self.init(argument: value) }

    var defaultValueDescription: String { text }

    /// The size, for a command's `validate()`.
    ///
    /// - Throws: a `ValidationError` naming the option and the text.
    func validate() throws -> ByteSize {
        guard let size else {
            throw ValidationError("--out-shard-size: '\(text)' is not a size such as 5GB, 500MB or 2B")
        }
        return size
    }
}
