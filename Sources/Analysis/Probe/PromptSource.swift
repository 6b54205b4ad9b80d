import Checkpoints
import Foundation

/// Where the probe's prompts come from: token ids, text through a model's `tokenizer.json`, or a seeded random
/// draw from the vocabulary.
public enum PromptSource: Sendable {
    /// One prompt per line, token ids separated by spaces or commas.
    case tokenIDs(URL)
    /// One prompt per line of text, encoded with the base model's `tokenizer.json` (WordLevel models: one token per
    /// character, as the bundled family uses; other tokenizer models are refused by name).
    case text(URL)
    /// `count` prompts of `length` tokens drawn uniformly from the vocabulary with a fixed seed.
    case random(count: Int, length: Int, seed: UInt64)

    /// The prompts, checked against `vocabularySize` and `maxLength`.
    public func prompts(for checkpoint: Checkpoint, vocabularySize: Int, maxLength: Int) throws -> [[Int]] {
        let prompts: [[Int]]
        switch self {
        case .tokenIDs(let url):
            prompts = try Self.lines(url).enumerated().map { index, line in
                try line.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "\t" }).map { item in
                    guard let id = Int(item) else {
                        throw AnalysisError.badArgument("\(url.path):\(index + 1): '\(item)' is not a token id")
                    }
                    return id
                }
            }
        case .text(let url):
            let tokenizer = try WordLevelTokenizer(directory: checkpoint.directory)
            prompts = try Self.lines(url).map { try tokenizer.encode($0) }
        case .random(let count, let length, let seed):
            var state = seed
            prompts = (0..<count).map { _ in
                (0..<length).map { _ in
                    state &+= 0x9E37_79B9_7F4A_7C15
                    var z = state
                    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                    return Int((z ^ (z >> 31)) % UInt64(vocabularySize))
                }
            }
        }
        guard !prompts.isEmpty else { throw AnalysisError.badArgument("no prompts given") }
        for (index, prompt) in prompts.enumerated() {
            guard !prompt.isEmpty else { throw AnalysisError.badArgument("prompt \(index + 1) is empty") }
            guard prompt.count <= maxLength else {
                throw AnalysisError.badArgument(
                    "prompt \(index + 1) has \(prompt.count) tokens, more than the model's max_position_embeddings \(maxLength)")
            }
            if let bad = prompt.first(where: { $0 < 0 || $0 >= vocabularySize }) {
                throw AnalysisError.badArgument(
                    "prompt \(index + 1) has token id \(bad), outside the vocabulary 0..<\(vocabularySize)")
            }
        }
        return prompts
    }

    public static func lines(_ url: URL) throws -> [String] {
        do {
            return try String(contentsOf: url, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: true)
                .map(String.init).filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        } catch {
            throw AnalysisError.badArgument("\(url.path): cannot read prompts: \(error.localizedDescription)")
        }
    }
}

/// The Hugging Face `tokenizers` WordLevel model applied one character at a time, with a `TemplateProcessing`
/// post-processor's special tokens added around the text.
public struct WordLevelTokenizer: Sendable {
    public let vocabulary: [String: Int]
    /// `added_tokens` (e.g. `<bos>`), matched as whole strings in the text before single characters.
    let addedTokens: [(String, Int)]
    let prefix: [Int]
    let suffix: [Int]
    let unknown: Int?

    public init(directory: URL) throws {
        let url = directory.appendingPathComponent("tokenizer.json")
        guard let data = try? Data(contentsOf: url),
            let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let model = root["model"] as? [String: Any]
        else {
            throw AnalysisError.badArgument("\(url.path): missing or not a tokenizers JSON file; use --token-ids instead")
        }
        guard model["type"] as? String == "WordLevel", let vocabulary = model["vocab"] as? [String: Int] else {
            throw AnalysisError.badArgument(
                "\(url.path): tokenizer model '\(model["type"] as? String ?? "?")' is not supported yet (WordLevel only); use --token-ids")
        }
        self.vocabulary = vocabulary
        addedTokens = ((root["added_tokens"] as? [[String: Any]]) ?? []).compactMap { entry in
            guard let content = entry["content"] as? String, let id = entry["id"] as? Int, !content.isEmpty else { return nil }
            return (content, id)
        }.sorted { $0.0.count > $1.0.count }
        unknown = (model["unk_token"] as? String).flatMap { vocabulary[$0] }
        var prefix: [Int] = [], suffix: [Int] = []
        if let post = root["post_processor"] as? [String: Any], post["type"] as? String == "TemplateProcessing",
            let single = post["single"] as? [[String: Any]]
        {
            var seenSequence = false
            for piece in single {
                if piece["Sequence"] != nil {
                    seenSequence = true
                } else if let special = piece["SpecialToken"] as? [String: Any], let id = special["id"] as? String,
                    let token = vocabulary[id]
                {
                    if seenSequence { suffix.append(token) } else { prefix.append(token) }
                }
            }
        }
        self.prefix = prefix
        self.suffix = suffix
    }

    /// Added tokens written out in the text (`<bos>`) become their ids; every other character is one id; the
    /// template's special tokens, if any, go around them.
    public func encode(_ text: String) throws -> [Int] {
        var body: [Int] = []
        var rest = Substring(text)
        while let character = rest.first {
            if let (content, id) = addedTokens.first(where: { rest.hasPrefix($0.0) }) {
                body.append(id)
                rest = rest.dropFirst(content.count)
                continue
            }
            guard let id = vocabulary[String(character)] ?? unknown else {
                throw AnalysisError.badArgument("character '\(character)' is not in the tokenizer's vocabulary")
            }
            body.append(id)
            rest = rest.dropFirst()
        }
        return prefix + body + suffix
    }
}
