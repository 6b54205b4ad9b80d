import Foundation
import Interruption
import JSONCore

/// A tokenizer read from a `tokenizer.json`, encoding text as the Hugging Face `tokenizers` library does
/// (`Tokenizer.from_file(path).encode(text, add_special_tokens=…)`): added tokens split out of the raw text,
/// normalizer, added tokens of normalized form, pre-tokenizer, model (BPE, WordPiece, WordLevel), post-processor.
///
/// Components outside that list (a Unigram model, an unknown normalizer, truncation or padding) are refused when the
/// file is read, by name. Offsets and type ids are not computed: they change no id.
public struct Tokenizer: Sendable {
    enum Model: Sendable {
        case bpe(BPEModel)
        case wordPiece(WordPieceModel)
        case wordLevel(WordLevelModel)
    }

    /// The file it was read from, for messages.
    public let path: String
    let model: Model
    let normalizer: Normalizer?
    let preTokenizer: PreTokenizer?
    let postProcessor: PostProcessor?
    let decoder: Decoder?
    let addedTokens: [AddedToken]
    let rawMatcher: AddedTokenMatcher
    let normalizedMatcher: AddedTokenMatcher
    /// id → token over the model's vocabulary and the added tokens (`nil` where no token has the id).
    let idToToken: [String?]
    let specialIDs: Set<Int>

    /// Reads `url`: a `tokenizer.json` file, or a directory holding one.
    public init(contentsOf url: URL) throws {
        var isDirectory: ObjCBool = false
        var file = url
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue {
            file = url.appendingPathComponent("tokenizer.json")
        }
        guard FileManager.default.fileExists(atPath: file.path) else {
            throw TokenizerError(
                isDirectory.boolValue
                    ? "\(url.path): no tokenizer.json in this directory (the Hugging Face tokenizers file the model "
                        + "ships)"
                    : "\(file.path): no such file")
        }
        let data: Data
        do { data = try Data(contentsOf: file) } catch {
            // Foundation's own text here is "The operation could not be completed. (NSCocoaErrorDomain …)".
            var fileIsDirectory: ObjCBool = false
            var status = stat()
            let reason =
                FileManager.default.fileExists(atPath: file.path, isDirectory: &fileIsDirectory)
                    && fileIsDirectory.boolValue
                ? "it is a directory; expected the tokenizer.json file"
                : stat(file.path, &status) == 0 && (status.st_mode & S_IFMT) != S_IFREG
                    ? "it is a FIFO, a device or a socket, not a regular file; expected the tokenizer.json file"
                    : access(file.path, R_OK) != 0 ? String(cString: strerror(errno)) : "the read failed"
            throw TokenizerError("\(file.path): cannot read the tokenizer: \(reason)", cause: error)
        }
        try self.init(json: [UInt8](data), path: file.path)
    }

    /// Parses the bytes of a `tokenizer.json`; `path` names it in messages.
    public init(json bytes: [UInt8], path: String) throws {
        self.path = path
        let root: JSONValue
        do { root = try JSONValue.parse(bytes) } catch {
            throw TokenizerError("\(path): not JSON (byte \(error.offset): \(error.message))", cause: error)
        }
        guard root.members != nil else { throw TokenizerError("\(path): not a tokenizer.json object") }
        for key in ["truncation", "padding"] {
            if let v = root[key], !v.isNull {
                throw TokenizerError("\(path): \(key) is set; only tokenizer.json files without \(key) are supported")
            }
        }
        guard let modelJSON = root["model"] else { throw TokenizerError("\(path): no 'model'") }
        // The library's files may omit the model's "type"; it is then told by its fields.
        let type =
            modelJSON["type"]?.string
            ?? (modelJSON["merges"] != nil ? "BPE" : modelJSON["continuing_subword_prefix"] != nil ? "WordPiece" : "?")
        switch type {
        case "BPE": model = .bpe(try BPEModel(modelJSON, file: path))
        case "WordPiece": model = .wordPiece(try WordPieceModel(modelJSON, file: path))
        case "WordLevel": model = .wordLevel(try WordLevelModel(modelJSON, file: path))
        case "Unigram":
            throw TokenizerError("\(path): model 'Unigram' is not supported (supported: BPE, WordPiece, WordLevel)")
        default:
            throw TokenizerError("\(path): model '\(type)' is not supported (supported: BPE, WordPiece, WordLevel)")
        }
        normalizer = try root["normalizer"].flatMap { $0.isNull ? nil : try Normalizer.parse($0, file: path) }
        preTokenizer = try root["pre_tokenizer"].flatMap { $0.isNull ? nil : try PreTokenizer.parse($0, file: path) }
        postProcessor = try root["post_processor"].flatMap { $0.isNull ? nil : try PostProcessor.parse($0, file: path) }
        decoder = try root["decoder"].flatMap { $0.isNull ? nil : try Decoder.parse($0, file: path) }

        let vocabulary: Vocabulary
        switch model {
        case .bpe(let m): vocabulary = m.vocabulary
        case .wordPiece(let m): vocabulary = m.vocabulary
        case .wordLevel(let m): vocabulary = m.vocabulary
        }
        var added: [AddedToken] = []
        for (index, entry) in (root["added_tokens"]?.array ?? []).enumerated() {
            guard let content = entry["content"]?.string, let jsonID = entry["id"]?.int else {
                throw TokenizerError("\(path): added_tokens[\(index)] has no content or id")
            }
            let special = entry["special"]?.bool ?? false
            added.append(
                AddedToken(
                    content: content, id: vocabulary.id(content) ?? jsonID, special: special,
                    singleWord: entry["single_word"]?.bool ?? false, lstrip: entry["lstrip"]?.bool ?? false,
                    rstrip: entry["rstrip"]?.bool ?? false, normalized: entry["normalized"]?.bool ?? !special))
        }
        addedTokens = added
        let normalizer = self.normalizer
        rawMatcher = AddedTokenMatcher(added.filter { !$0.normalized }.map { ($0.content, $0) })
        normalizedMatcher = AddedTokenMatcher(
            try added.filter(\.normalized).map { (try normalizer?.apply($0.content) ?? $0.content, $0) })
        var idToToken = vocabulary.tokens
        for token in added {
            guard token.id >= 0, token.id < 50_000_000 else {
                throw TokenizerError("\(path): added token '\(token.content)' has id \(token.id), out of range")
            }
            if token.id >= idToToken.count {
                idToToken.append(contentsOf: repeatElement(nil, count: token.id + 1 - idToToken.count))
            }
            // A normalized added token decodes to its normalized content, as the library's does.
            idToToken[token.id] =
                token.normalized ? (try normalizer?.apply(token.content) ?? token.content) : token.content
        }
        self.idToToken = idToToken
        specialIDs = Set(added.filter(\.special).map(\.id))
    }

    /// The number of ids: the largest id + 1 over the vocabulary and the added tokens.
    public var vocabularySize: Int { idToToken.count }

    /// The token of `id`, `nil` when none has it.
    public func token(_ id: Int) -> String? { id >= 0 && id < idToToken.count ? idToToken[id] : nil }

    /// The ids and tokens of `text`, with the post-processor's special tokens when `addSpecialTokens`.
    ///
    /// Throws `Interrupted` (checked every 256 words) once a signal asked the process to stop.
    public func encode(_ text: String, addSpecialTokens: Bool = true) throws -> Encoding {
        var result: (ids: [Int], tokens: [String]) = ([], [])
        var wordsEncoded = 0
        let bytes = Array(text.utf8)
        for (range, token) in rawMatcher.split(text) {
            if let token {
                // The token is the text matched, with the whitespace lstrip/rstrip took in.
                result.ids.append(token.id)
                result.tokens.append(String(decoding: bytes[range], as: UTF8.self))
                continue
            }
            let raw = String(decoding: bytes[range], as: UTF8.self)
            let normalized = try normalizer?.apply(raw) ?? raw
            let normalizedBytes = Array(normalized.utf8)
            for (inner, innerToken) in normalizedMatcher.split(normalized) {
                if let innerToken {
                    result.ids.append(innerToken.id)
                    result.tokens.append(String(decoding: normalizedBytes[inner], as: UTF8.self))
                    continue
                }
                let piece = Piece(
                    text: String(decoding: normalizedBytes[inner], as: UTF8.self),
                    atStart: range.lowerBound == 0 && inner.lowerBound == 0)
                let words = try preTokenizer?.apply([piece]) ?? [piece]
                for word in words where !word.text.isEmpty {
                    if wordsEncoded % 256 == 0 { try Interruption.check() }
                    wordsEncoded += 1
                    let ids: [Int]
                    switch model {
                    case .bpe(let m): ids = m.encode(word.text)
                    case .wordPiece(let m): ids = m.encode(word.text)
                    case .wordLevel(let m):
                        do { ids = try m.encode(word.text) } catch let e as TokenizerError {
                            throw TokenizerError("\(path): \(e.message)", cause: e)
                        }
                    }
                    for id in ids {
                        result.ids.append(id)
                        result.tokens.append(self.token(id) ?? "")
                    }
                }
            }
        }
        if addSpecialTokens, let postProcessor { postProcessor.apply(&result) }
        return Encoding(ids: result.ids, tokens: result.tokens)
    }

    /// The text of `ids` through the decoder (tokens joined by spaces without one), as the library's `decode`.
    ///
    /// - Throws: ``TokenizerError`` when a decoder step exceeds a work limit (``WorkLimits``: output length, regular
    ///   expression steps).
    public func decode(_ ids: [Int], skipSpecialTokens: Bool = false) throws -> String {
        let tokens = ids.compactMap { id -> String? in
            if skipSpecialTokens && specialIDs.contains(id) { return nil }
            return token(id)
        }
        guard let decoder else { return tokens.joined(separator: " ") }
        do {
            return try decoder.decodeChain(tokens).joined()
        } catch let error as TokenizerError where !error.message.hasPrefix(path) {
            throw TokenizerError("\(path): \(error.message)", cause: error)
        }
    }
}

/// What `encode` returns: the ids and their token strings, one for one.
public struct Encoding: Sendable, Equatable {
    public let ids: [Int]
    public let tokens: [String]
}
