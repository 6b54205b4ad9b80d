import Foundation
import JSONCore
import SafeTensors
import Statistics
import Tokenizers

/// One item of a task file: a prompt and the completion the model must produce after it, as token ids.
public struct EvalItem: Sendable, Hashable {
    public let prompt: [Int]
    public let completion: [Int]
    /// The item's line in its file (from 1).
    public let line: Int

    public init(prompt: [Int], completion: [Int], line: Int) {
        self.prompt = prompt
        self.completion = completion
        self.line = line
    }

    /// prompt + completion: what goes through the model (teacher forcing).
    public var tokens: [Int] { prompt + completion }
}

/// A task of `eval` / `sweep`: a name and the items of a JSONL file.
///
/// The file has one JSON object per line, `{"prompt": "<bos>37+58=", "completion": "95<eos>"}` (blank lines are
/// skipped, other keys ignored). Prompt and completion are encoded **separately** with the model's
/// `tokenizer.json` without post-processing (`encode(text, add_special_tokens=False)` of the `tokenizers`
/// library) and the id lists concatenated — as `scripts/fixtures/make_eval_references.py` does; special tokens
/// written in the text (`<bos>`, `<eos>`) are added tokens and encode to their ids.
public struct EvalTask: Sendable {
    public let name: String
    public let url: URL
    public let items: [EvalItem]

    public init(name: String, url: URL, items: [EvalItem]) {
        self.name = name
        self.url = url
        self.items = items
    }

    /// At most this many items per file.
    public static let maxItems = 100_000
    /// A task file larger than this (bytes) is refused before it is read.
    public static let maxFileBytes = 512 << 20

    /// Reads and encodes the task file at `url`.
    ///
    /// - Throws: ``AnalysisError/badArgument(_:cause:)`` naming the file and line for: a missing or unreadable file, a
    ///   file that is not JSONL (a line that is not a JSON object, invalid UTF-8), a line without a `prompt` or
    ///   `completion` string, an empty completion (or one that encodes to no tokens), prompt + completion longer
    ///   than `maxLength` (the model's `max_position_embeddings`), a token id outside `vocabularySize`, a file
    ///   with no items.
    public static func load(
        name: String, url: URL, tokenizer: Tokenizer, vocabularySize: Int, maxLength: Int
    ) throws -> EvalTask {
        let path = url.path
        var items: [EvalItem] = []
        for (number, object) in try JSONLObjects.read(
            url, kind: "task file", shape: "{\"prompt\": …, \"completion\": …}", maxObjects: (maxItems, "items"))
        {
            guard let prompt = object["prompt"]?.stringValue else {
                throw AnalysisError.badArgument("\(path):\(number): no \"prompt\" string")
            }
            guard let completion = object["completion"]?.stringValue else {
                throw AnalysisError.badArgument("\(path):\(number): no \"completion\" string")
            }
            guard !completion.isEmpty else {
                throw AnalysisError.badArgument(
                    "\(path):\(number): the completion is empty; expected the text the model must produce")
            }
            let p: [Int], c: [Int]
            do {
                p = try tokenizer.encode(prompt, addSpecialTokens: false).ids
                c = try tokenizer.encode(completion, addSpecialTokens: false).ids
            } catch let error as TokenizerError {
                throw AnalysisError.badArgument("\(path):\(number): \(error.message)", cause: error)
            }
            guard !p.isEmpty else {
                throw AnalysisError.badArgument(
                    "\(path):\(number): the prompt encodes to no tokens; the first completion token needs a prompt to "
                        + "follow"
                )
            }
            guard !c.isEmpty else {
                throw AnalysisError.badArgument("\(path):\(number): the completion encodes to no tokens")
            }
            guard p.count + c.count <= maxLength else {
                throw AnalysisError.badArgument(
                    "\(path):\(number): prompt + completion have \(p.count) + \(c.count) = \(p.count + c.count) "
                        + "tokens, more than the model's max_position_embeddings \(maxLength)")
            }
            if let bad = (p + c).first(where: { $0 < 0 || $0 >= vocabularySize }) {
                throw AnalysisError.badArgument(
                    "\(path):\(number): token id \(bad) is outside the model's vocabulary 0..<\(vocabularySize)")
            }
            items.append(EvalItem(prompt: p, completion: c, line: number))
        }
        guard !items.isEmpty else {
            throw AnalysisError.badArgument(
                "\(path): no items; expected JSONL lines {\"prompt\": …, \"completion\": …}")
        }
        return EvalTask(name: name, url: url, items: items)
    }

    /// Parses a `--task` argument `NAME=FILE.jsonl` (a bare `FILE.jsonl` is named by its file name without the
    /// extension).
    public static func parseArgument(_ text: String) throws -> (name: String, url: URL) {
        let parts = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        if parts.count == 2 {
            guard !parts[0].isEmpty, !parts[1].isEmpty else {
                throw AnalysisError.badArgument("--task '\(text)': expected NAME=FILE.jsonl")
            }
            // A name is printed in one-line tables and messages and stored in reports.
            guard !parts[0].unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
                throw AnalysisError.badArgument(
                    "--task \(parts[0].debugDescription): the name holds a control character (a newline, a tab, …)")
            }
            return (parts[0], URL(fileURLWithPath: parts[1]))
        }
        let url = URL(fileURLWithPath: text)
        return (url.deletingPathExtension().lastPathComponent, url)
    }
}
