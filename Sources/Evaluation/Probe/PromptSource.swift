import Checkpoints
import Foundation
import Interruption
import JSONCore
import SafeTensors
import Statistics
import Tokenizers

/// The probe's prompts: token ids, and the texts they were encoded from when they came from text.
///
/// Outside the package a value comes only from ``PromptSource/load(for:vocabularySize:maxLength:)``, which checks
/// the ids — the one user-facing check of a probe's prompts (at least one prompt, each non-empty, within
/// `max_position_embeddings`, ids in the vocabulary), naming the file and line; the probe relies on it.
/// Two values are equal when their ids and texts are; the tokenizer is not compared.
public struct Prompts: Sendable, Equatable {
    public let ids: [[Int]]
    /// One per prompt, when the prompts were text; `nil` for token-id files and random prompts.
    public let texts: [String]?
    /// The base model's tokenizer, which the probe uses to label its curves' tokens: the one that encoded text
    /// prompts, else the base's tokenizer.json when it loads; `nil` leaves the curves unlabelled.
    public let tokenizer: Tokenizer?

    /// Prompts as given, unchecked: for ``PromptSource`` and tests.
    package init(ids: [[Int]], texts: [String]?, tokenizer: Tokenizer? = nil) {
        self.ids = ids
        self.texts = texts
        self.tokenizer = tokenizer
    }

    public static func == (lhs: Prompts, rhs: Prompts) -> Bool { lhs.ids == rhs.ids && lhs.texts == rhs.texts }
}

/// Where the probe's prompts come from: token ids, text through the base model's `tokenizer.json`, or a seeded
/// random draw from the vocabulary.
public enum PromptSource: Sendable {
    /// One prompt per line, token ids separated by spaces, commas or tabs (LF or CRLF line ends).
    case tokenIDs(URL)
    /// Text encoded with the base model's `tokenizer.json` as the `tokenizers` library encodes it with its special
    /// tokens (`Tokenizer.from_file(…).encode(text)`): one prompt per line, or for a `.jsonl` file one JSON object
    /// `{"text": …}` per line (prompts with newlines). `prefix` goes in front of every text before it is encoded
    /// (the demo's `<bos>`, for a tokenizer without a post-processor); the prompt's text is then `prefix + text`.
    case text(URL, prefix: String = "")
    /// `count` prompts of `length` tokens drawn uniformly from the vocabulary with a fixed seed.
    case random(count: Int, length: Int, seed: UInt64)

    /// At most this many prompts: every prompt goes through the model at every point of the probe, and a file
    /// with more lines is far more likely a mistake (a corpus given for a prompt list) than a plan.
    public static let maxPrompts = 10_000
    /// A line longer than this (bytes) is refused before it is decoded.
    public static let maxLineBytes = 1 << 20

    /// The prompts' ids, checked against `vocabularySize` and `maxLength` (the model's `max_position_embeddings`).
    package func prompts(for checkpoint: Checkpoint, vocabularySize: Int, maxLength: Int) throws -> [[Int]] {
        try loadIDs(for: checkpoint, vocabularySize: vocabularySize, maxLength: maxLength).ids
    }

    /// The prompts (ids, and texts for text prompts), checked against `vocabularySize` and `maxLength` — the one
    /// check of a probe's ids — with the tokenizer of `checkpoint` for labels (``Prompts/tokenizer``).
    public func load(for checkpoint: Checkpoint, vocabularySize: Int, maxLength: Int) throws -> Prompts {
        let prompts = try loadIDs(for: checkpoint, vocabularySize: vocabularySize, maxLength: maxLength)
        if prompts.tokenizer != nil { return prompts }
        // Labels only: a base without a tokenizer.json that loads leaves the curves unlabelled.
        let labels = try? Tokenizer(contentsOf: checkpoint.directory)
        return Prompts(ids: prompts.ids, texts: prompts.texts, tokenizer: labels)
    }

    /// The prompts, checked; the tokenizer only when it encoded them.
    private func loadIDs(for checkpoint: Checkpoint, vocabularySize: Int, maxLength: Int) throws -> Prompts {
        let prompts: Prompts
        var names: [String] = []  // how a message names each prompt
        switch self {
        case .tokenIDs(let url):
            let lines = try Self.numberedLines(url)
            prompts = Prompts(
                ids: try lines.map { number, line in
                    try line.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "\t" }).map { item in
                        guard let id = Int(item) else {
                            throw AnalysisError.badArgument("\(url.path):\(number): '\(item)' is not a token id")
                        }
                        return id
                    }
                }, texts: nil)
            names = lines.map { "\(url.path):\($0.number): prompt" }
        case .text(let url, let prefix):
            let texts = try Self.texts(url).map { (number: $0.number, text: prefix + $0.text) }
            let tokenizer: Tokenizer
            do {
                tokenizer = try Tokenizer(contentsOf: checkpoint.directory)
            } catch let error as TokenizerError {
                throw AnalysisError.badArgument(
                    "\(error.message); give the prompts as --token-ids instead", cause: error)
            }
            prompts = Prompts(
                ids: try texts.map { number, text in
                    do { return try tokenizer.encode(text).ids } catch let error as TokenizerError {
                        throw AnalysisError.badArgument("\(url.path):\(number): \(error.message)", cause: error)
                    }
                }, texts: texts.map(\.text), tokenizer: tokenizer)
            names = texts.map { "\(url.path):\($0.number): prompt \(Self.quote($0.text))" }
        case .random(let count, let length, let seed):
            guard (1...Self.maxPrompts).contains(count) else {
                throw AnalysisError.badArgument(
                    "--random-prompts \(count): the number of random prompts must be between 1 and \(Self.maxPrompts)")
            }
            guard (1...max(1, maxLength)).contains(length) else {
                throw AnalysisError.badArgument(
                    "--prompt-length \(length): a prompt's length must be between 1 and the model's "
                        + "max_position_embeddings \(maxLength)")
            }
            guard vocabularySize > 0 else { throw AnalysisError.badArgument("the model has an empty vocabulary") }
            var random = SplitMix64(seed: seed)
            prompts = Prompts(
                ids: (0..<count).map { _ in (0..<length).map { _ in random.next(below: vocabularySize) } },
                texts: nil)
            names = (0..<count).map { "random prompt \($0 + 1)" }
        }
        guard !prompts.ids.isEmpty else {
            switch self {
            case .tokenIDs(let url), .text(let url, _):
                throw AnalysisError.badArgument("\(url.path): the prompt file holds no prompt; expected one per line")
            case .random:
                throw AnalysisError.badArgument("no prompts given")
            }
        }
        for (name, prompt) in zip(names, prompts.ids) {
            guard !prompt.isEmpty else { throw AnalysisError.badArgument("\(name) has no tokens") }
            guard prompt.count <= maxLength else {
                throw AnalysisError.badArgument(
                    "\(name) has \(prompt.count) tokens, more than the model's max_position_embeddings \(maxLength)")
            }
            if let bad = prompt.first(where: { $0 < 0 || $0 >= vocabularySize }) {
                throw AnalysisError.badArgument(
                    "\(name) has token id \(bad), outside the vocabulary 0..<\(vocabularySize)")
            }
        }
        return prompts
    }

    /// The texts of a prompt file with their line numbers: its lines, or for `.jsonl` the `"text"` of each line's
    /// object. Empty prompts, invalid UTF-8 and more than `limit` prompts are refused, naming file and line.
    /// A text holding NUL is refused (the report stores the prompts' texts, and HDF5 strings end at NUL): before
    /// the probe runs, not when its report is written.
    public static func texts(_ url: URL, limit: Int = maxPrompts) throws -> [(number: Int, text: String)] {
        let texts = try textsOfLines(url, limit: limit)
        if let (number, _) = texts.first(where: { $0.text.utf8.contains(0) }) {
            throw AnalysisError.badArgument(
                "\(url.path):\(number): the prompt holds a NUL character (U+0000), which the report cannot store")
        }
        return texts
    }

    private static func textsOfLines(_ url: URL, limit: Int) throws -> [(number: Int, text: String)] {
        let lines = try numberedLines(url, limit: limit)
        guard url.pathExtension.lowercased() == "jsonl" else { return lines }
        return try lines.map { number, line in
            let notAnObject = "\(url.path):\(number): not a JSON object with a \"text\" string"
            let parsed: JSONNode
            do { parsed = try JSONNode.parse(Array(line.utf8)) } catch {
                throw AnalysisError.badArgument(notAnObject, cause: error)
            }
            guard let text = parsed["text"]?.stringValue else {
                throw AnalysisError.badArgument(notAnObject)
            }
            guard !text.isEmpty else {
                throw AnalysisError.badArgument("\(url.path):\(number): the prompt text is empty")
            }
            return (number, text)
        }
    }

    /// The lines of a prompt file (LF or CRLF), numbered from 1, read in bounded memory: a file with more than
    /// `limit` lines is refused as soon as the line past the limit is seen, a line longer than
    /// ``maxLineBytes`` as soon as its bytes are; an empty line or invalid UTF-8 is refused with its line number.
    public static func numberedLines(_ url: URL, limit: Int = maxPrompts) throws -> [(number: Int, text: String)] {
        if let reason = FileErrorReason.notRegularFile(url) {
            throw AnalysisError.badArgument("\(url.path): cannot read the prompt file: \(reason)")
        }
        guard let handle = FileHandle(forReadingAtPath: url.path) else {
            throw AnalysisError.badArgument("\(url.path): cannot read the prompt file (missing or unreadable)")
        }
        defer { try? handle.close() }
        var result: [(number: Int, text: String)] = []
        var current: [UInt8] = []
        var number = 0
        func finish(_ bytes: [UInt8]) throws {
            number += 1
            guard number <= limit else {
                throw AnalysisError.badArgument(
                    "\(url.path): more than \(limit) prompts; every prompt runs through the model at every "
                        + "point of the probe, so split the file or keep the prompts that matter")
            }
            var line = bytes[...]
            if line.last == 0x0D { line = line.dropLast() }
            guard let text = String(validating: line, as: UTF8.self) else {
                throw AnalysisError.badArgument("\(url.path):\(number): not valid UTF-8")
            }
            guard !text.unicodeScalars.allSatisfy({ $0.properties.isWhitespace }) else {
                throw AnalysisError.badArgument(
                    "\(url.path):\(number): empty prompt line; remove it (or, in a .jsonl file, write the prompt "
                        + "as {\"text\": …})")
            }
            result.append((number, text))
        }
        while true {
            let chunk: Data
            do { chunk = try handle.read(upToCount: 1 << 20) ?? Data() } catch {
                throw AnalysisError.badArgument(
                    "\(url.path): cannot read the prompt file: \(FileErrorReason.reason(error, url: url))",
                    cause: error)
            }
            if chunk.isEmpty { break }
            try Interruption.check()
            for byte in chunk {
                if byte == 0x0A {
                    try finish(current)
                    current.removeAll(keepingCapacity: true)
                } else {
                    current.append(byte)
                    guard current.count <= maxLineBytes else {
                        throw AnalysisError.badArgument(
                            "\(url.path):\(number + 1): a prompt line longer than \(maxLineBytes) bytes")
                    }
                }
            }
        }
        if !current.isEmpty { try finish(current) }
        return result
    }

    /// `text` quoted for a message, shortened to 40 characters.
    static func quote(_ text: String) -> String {
        let short = text.count > 40 ? String(text.prefix(40)) + "…" : text
        return "\"" + short.replacingOccurrences(of: "\n", with: "\\n") + "\""
    }
}
