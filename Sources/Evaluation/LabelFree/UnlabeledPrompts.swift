import Foundation
import JSONCore
import Statistics
import Tokenizers

/// One task's unlabeled prompts for a label-free recommendation (`recommend --prompts NAME=FILE`): the `"prompt"`
/// string of every JSONL line, encoded as ``EvalTask`` encodes a prompt (the base's `tokenizer.json`, no
/// post-processing). Other keys — a task file's `"completion"` — are ignored, so a task file works as is.
public struct UnlabeledPrompts: Sendable {
    /// The task model the prompts belong to.
    public let name: String
    public let url: URL
    /// The prompts as token ids, each non-empty and shorter than the model's context (room for one new token).
    public let prompts: [[Int]]
    /// Each prompt's line in the file (from 1).
    public let lines: [Int]

    public init(name: String, url: URL, prompts: [[Int]], lines: [Int]) {
        self.name = name
        self.url = url
        self.prompts = prompts
        self.lines = lines
    }

    /// At most this many prompts per file: each is decoded token by token by its task model.
    public static let maxPrompts = 10_000

    /// Reads and encodes the prompts file at `url`.
    ///
    /// - Throws: ``AnalysisError/badArgument(_:cause:)`` naming the file (and line) for: a missing, unreadable or
    ///   too large file, a line that is not a JSON object (or is not UTF-8, or repeats a key), no `"prompt"` string,
    ///   a prompt that encodes to no tokens or leaves no room for a new token in `maxLength`, a token id outside
    ///   `vocabularySize`, more than ``maxPrompts`` prompts, or none.
    public static func load(
        name: String, url: URL, tokenizer: Tokenizer, vocabularySize: Int, maxLength: Int
    ) throws -> UnlabeledPrompts {
        let path = url.path
        var prompts: [[Int]] = [], lines: [Int] = []
        for (number, object) in try JSONLObjects.read(
            url, kind: "prompts file", shape: "{\"prompt\": …}", maxObjects: (maxPrompts, "prompts"))
        {
            guard let prompt = object["prompt"]?.stringValue else {
                throw AnalysisError.badArgument("\(path):\(number): no \"prompt\" string")
            }
            let ids: [Int]
            do { ids = try tokenizer.encode(prompt, addSpecialTokens: false).ids } catch let error as TokenizerError {
                throw AnalysisError.badArgument("\(path):\(number): \(error.message)", cause: error)
            }
            guard !ids.isEmpty else {
                throw AnalysisError.badArgument(
                    "\(path):\(number): the prompt encodes to no tokens; a continuation needs a prompt to follow")
            }
            guard ids.count < maxLength else {
                throw AnalysisError.badArgument(
                    "\(path):\(number): the prompt has \(ids.count) tokens, leaving no room for a new token within the "
                        + "model's max_position_embeddings \(maxLength)")
            }
            if let bad = ids.first(where: { $0 < 0 || $0 >= vocabularySize }) {
                throw AnalysisError.badArgument(
                    "\(path):\(number): token id \(bad) is outside the model's vocabulary 0..<\(vocabularySize)")
            }
            prompts.append(ids)
            lines.append(number)
        }
        guard !prompts.isEmpty else {
            throw AnalysisError.badArgument("\(path): no prompts; expected JSONL lines {\"prompt\": …}")
        }
        return UnlabeledPrompts(name: name, url: url, prompts: prompts, lines: lines)
    }

    /// Parses a `--prompts` argument `NAME=FILE.jsonl` (NAME: a task model of the family).
    public static func parseArgument(_ text: String) throws -> (name: String, url: URL) {
        let parts = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw AnalysisError.badArgument(
                "--prompts '\(text)': expected NAME=FILE.jsonl with NAME a task model of the family")
        }
        guard !parts[0].unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw AnalysisError.badArgument(
                "--prompts \(parts[0].debugDescription): the name holds a control character (a newline, a tab, …)")
        }
        return (parts[0], URL(fileURLWithPath: parts[1]))
    }
}
