import Checkpoints
import Foundation
import Tokenizers

/// A model's vocabulary as `tokenizer.json` gives it: token → id (the model's vocab and its added tokens, as
/// `get_vocab()` returns), the added tokens' JSON entries, and the row count `config.json` declares (`vocab_size`).
///
/// Tokens are compared by their exact Unicode scalars (``TokenText``), as MergeKit (Python `str`) compares them: "é"
/// (U+00E9) and "e" + U+0301 are two tokens.
struct TokenVocabulary: Sendable {
    let directory: URL
    /// Token → id.
    let ids: [TokenText: Int]
    /// The tokens of ``ids`` in the order the file lists them (the model's vocab, then the added tokens).
    let ordered: [(token: String, id: Int)]
    /// The added tokens' entries of tokenizer.json (`{id, content, special, …}`), by content.
    let addedTokens: [TokenText: TokenizerAddedToken]
    /// Added token contents in id order.
    let addedOrder: [String]
    /// `vocab_size` of config.json, else the number of tokens.
    let size: Int

    /// Reads `directory/tokenizer.json` (and `config.json`'s `vocab_size`).
    ///
    /// - Throws: ``MergeConfigError`` naming the file when it is missing or not a tokenizer the alignment can read
    ///   (a `model.vocab` mapping or a Unigram list).
    init(directory: URL, reference: String) throws {
        self.directory = directory
        let url = directory.appendingPathComponent("tokenizer.json")
        let unreadable =
            "model '\(reference)': \(url.path) is missing or not JSON; aligning vocabularies needs each model's "
            + "tokenizer.json"
        let file: TokenizerVocabulary
        do {
            file = try TokenizerVocabulary(contentsOf: url)
        } catch let failure as TokenizerVocabulary.Failure where failure.kind == .noVocabulary {
            throw MergeConfigError(
                .badModel, "model '\(reference)': \(url.path) has no model.vocab the alignment can read")
        } catch {
            throw MergeConfigError(.badModel, unreadable, cause: error)
        }
        var positions: [TokenText: Int] = [:]
        var ordered: [(token: String, id: Int)] = []
        func insert(_ token: String, _ id: Int) {
            if let index = positions[TokenText(token)] {
                ordered[index].id = id
            } else {
                positions[TokenText(token)] = ordered.count
                ordered.append((token, id))
            }
        }
        for entry in file.entries { insert(entry.token, entry.id) }
        var added: [TokenText: TokenizerAddedToken] = [:]
        var order: [(Int, String)] = []
        for entry in file.addedTokens {
            insert(entry.content, entry.id)
            added[TokenText(entry.content)] = entry
            order.append((entry.id, entry.content))
        }
        let ids = positions.mapValues { ordered[$0].id }
        self.ids = ids
        self.ordered = ordered
        addedTokens = added
        addedOrder = order.sorted { $0.0 < $1.0 }.map(\.1)
        var size = (ids.values.max() ?? -1) + 1
        if let declared = (try? ModelConfig(contentsOf: directory.appendingPathComponent("config.json")))?.vocabSize {
            size = declared
        }
        self.size = size
    }

    /// The id of `token`, compared by exact Unicode scalars.
    func id(_ token: String) -> Int? { ids[TokenText(token)] }
}
