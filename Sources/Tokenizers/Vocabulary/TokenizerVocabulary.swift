import Foundation

/// The vocabulary of a `tokenizer.json`, as the `tokenizers` library's `get_vocab()` and `added_tokens` give it, for
/// tools that align vocabularies (a merge's `tokenizer_source: union`) rather than encode text.
///
/// Entries keep the file's order and their exact Unicode scalars: two canonically equivalent tokens ("é" and "e" +
/// U+0301) are two entries (compare them with ``TokenText``). The model's `vocab` may be an object (BPE, WordPiece,
/// WordLevel: token → id) or a list of `[piece, score]` (Unigram: the id is the position); entries whose id is not
/// an integer, and added tokens without `content` or an integer `id`, are skipped.
package struct TokenizerVocabulary: Sendable {
    /// One `token: id` entry of `model.vocab`.
    package struct Entry: Sendable {
        package let token: String
        package let id: Int
    }

    /// Why a file holds no vocabulary this reader can give.
    package struct Failure: Error, Sendable, CustomStringConvertible {
        package enum Kind: Sendable {
            /// The bytes are not a JSON object.
            case notJSON
            /// `model.vocab` is neither an object nor a list.
            case noVocabulary
        }
        package let kind: Kind
        package let cause: (any Error & Sendable)?
        package var description: String {
            switch kind {
            case .notJSON: "not a JSON object" + (cause.map { " (\($0))" } ?? "")
            case .noVocabulary: "no model.vocab"
            }
        }
    }

    /// `model.vocab`'s entries in file order.
    package let entries: [Entry]
    /// `added_tokens` in file order.
    package let addedTokens: [TokenizerAddedToken]

    /// Reads the vocabulary of the `tokenizer.json` bytes `bytes`.
    ///
    /// - Throws: ``Failure``: `.notJSON` (keeping the parser's error) or `.noVocabulary`.
    package init(json bytes: [UInt8]) throws(Failure) {
        let root: JSONValue
        do { root = try JSONValue.parse(bytes) } catch { throw Failure(kind: .notJSON, cause: error) }
        guard root.members != nil else { throw Failure(kind: .notJSON, cause: nil) }
        let vocab = root["model"]?["vocab"]
        if let members = vocab?.members {
            entries = members.compactMap { token, id in id.int.map { Entry(token: token, id: $0) } }
        } else if let pieces = vocab?.array {
            entries = pieces.enumerated().compactMap { id, piece in
                piece.array?.first?.string.map { Entry(token: $0, id: id) }
            }
        } else {
            throw Failure(kind: .noVocabulary, cause: nil)
        }
        addedTokens = (root["added_tokens"]?.array ?? []).compactMap { entry in
            guard let content = entry["content"]?.string, let id = entry["id"]?.int, let members = entry.members
            else { return nil }
            return TokenizerAddedToken(content: content, id: id, fields: members)
        }
    }

    /// Reads `url`'s vocabulary.
    ///
    /// - Throws: the read's error when the file cannot be read, else ``Failure``.
    package init(contentsOf url: URL) throws {
        try self.init(json: [UInt8](try Data(contentsOf: url)))
    }
}
