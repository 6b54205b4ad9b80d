import Foundation

/// A model's vocabulary as `tokenizer.json` gives it: token string → id (the model's vocab and its added tokens, as
/// `get_vocab()` returns), the added tokens' JSON entries, and the row count `config.json` declares (`vocab_size`).
struct TokenVocabulary: Sendable {
    let directory: URL
    /// Token → id.
    let ids: [String: Int]
    /// The added tokens' entries of tokenizer.json (`{id, content, special, …}`), by content.
    let addedTokens: [String: [String: AnyHashableSendable]]
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
        let parsed: Any
        do {
            parsed = try JSONSerialization.jsonObject(with: Data(contentsOf: url))
        } catch {
            throw MergeConfigError(.badModel, unreadable, cause: error)
        }
        guard let json = parsed as? [String: Any] else { throw MergeConfigError(.badModel, unreadable) }
        var ids: [String: Int] = [:]
        let model = json["model"] as? [String: Any]
        if let vocab = model?["vocab"] as? [String: Any] {
            for (token, id) in vocab { if let id = (id as? NSNumber)?.intValue { ids[token] = id } }
        } else if let pieces = model?["vocab"] as? [[Any]] {
            for (id, piece) in pieces.enumerated() { if let token = piece.first as? String { ids[token] = id } }
        } else {
            throw MergeConfigError(
                .badModel, "model '\(reference)': \(url.path) has no model.vocab the alignment can read")
        }
        var added: [String: [String: AnyHashableSendable]] = [:]
        var order: [(Int, String)] = []
        for entry in json["added_tokens"] as? [[String: Any]] ?? [] {
            guard let content = entry["content"] as? String, let id = (entry["id"] as? NSNumber)?.intValue else {
                continue
            }
            ids[content] = id
            added[content] = entry.mapValues { AnyHashableSendable($0) }
            order.append((id, content))
        }
        self.ids = ids
        addedTokens = added
        addedOrder = order.sorted { $0.0 < $1.0 }.map(\.1)
        var size = (ids.values.max() ?? -1) + 1
        if let config = try? JSONSerialization.jsonObject(
            with: Data(contentsOf: directory.appendingPathComponent("config.json"))) as? [String: Any],
            let declared = (config["vocab_size"] as? NSNumber)?.intValue
        {
            size = declared
        }
        self.size = size
    }
}

/// A JSON value kept as `Any` but usable in `Sendable` structs (tokenizer.json entries are plain JSON).
struct AnyHashableSendable: @unchecked Sendable {
    let value: Any
    init(_ value: Any) { self.value = value }
}
