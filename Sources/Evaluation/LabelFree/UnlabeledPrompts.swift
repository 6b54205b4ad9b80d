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
        let data: Data
        do {
            let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? 0
            guard size <= EvalTask.maxFileBytes else {
                throw AnalysisError.badArgument(
                    "\(path): \(size) bytes; a prompts file may have at most \(EvalTask.maxFileBytes) bytes")
            }
            data = try Data(contentsOf: url)
        } catch let error as AnalysisError {
            throw error
        } catch {
            throw AnalysisError.badArgument(
                "\(path): cannot read the prompts file (missing or unreadable)", cause: error)
        }
        var prompts: [[Int]] = [], lines: [Int] = []
        var number = 0
        for rawLine in data.split(separator: 0x0A, omittingEmptySubsequences: false) {
            number += 1
            var bytes = rawLine[...]
            if bytes.last == 0x0D { bytes = bytes.dropLast() }
            guard let text = String(validating: bytes, as: UTF8.self) else {
                throw AnalysisError.badArgument(
                    "\(path):\(number): not valid UTF-8; a prompts file is JSONL (one {\"prompt\": …} per line)")
            }
            if text.unicodeScalars.allSatisfy({ $0.properties.isWhitespace }) { continue }
            guard prompts.count < maxPrompts else {
                throw AnalysisError.badArgument("\(path): more than \(maxPrompts) prompts; use fewer")
            }
            let notAnObject =
                "\(path):\(number): not a JSON object; a prompts file is JSONL, one {\"prompt\": …} per line"
            let object: JSONNode
            do { object = try JSONNode.parse(Array(bytes)) } catch {
                throw AnalysisError.badArgument(notAnObject, cause: error)
            }
            guard object.members != nil else { throw AnalysisError.badArgument(notAnObject) }
            if let twice = object.duplicateKey {
                throw AnalysisError.badArgument(
                    "\(path):\(number): the key \"\(twice)\" appears twice in the object; keep one")
            }
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
