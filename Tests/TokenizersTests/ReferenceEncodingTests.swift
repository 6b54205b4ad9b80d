import Foundation
import TestSupport
import Testing

@testable import Tokenizers

/// One reference row written by scripts/fixtures/make_tokenizer_fixtures.py from the `tokenizers` package.
struct ReferenceRow: Decodable {
    let text: String
    let ids: [Int]
    let tokens: [String]
    let ids_plain: [Int]
    let decoded: String
    /// SmolLM2 only: transformers' AutoTokenizer's ids for the same text.
    let ids_transformers: [Int]?
}

func loadReference(_ directory: URL) throws -> (Tokenizer, [ReferenceRow]) {
    let tokenizer = try Tokenizer(contentsOf: directory)
    let rows = try JSONDecoder().decode(
        [ReferenceRow].self, from: Data(contentsOf: directory.appendingPathComponent("expected.json")))
    return (tokenizer, rows)
}

/// Mismatches of ids, tokens, ids without special tokens and decoded text, with the first few described.
func mismatches(_ tokenizer: Tokenizer, _ rows: [ReferenceRow]) throws -> (count: Int, examples: [String]) {
    var count = 0
    var examples: [String] = []
    for row in rows {
        let encoding = try tokenizer.encode(row.text)
        let plain = try tokenizer.encode(row.text, addSpecialTokens: false)
        let decoded = try tokenizer.decode(encoding.ids)
        var problems: [String] = []
        if encoding.ids != row.ids { problems.append("ids \(encoding.ids) expected \(row.ids)") }
        if let hf = row.ids_transformers, encoding.ids != hf {
            problems.append("ids \(encoding.ids), transformers gives \(hf)")
        }
        if encoding.tokens != row.tokens { problems.append("tokens \(encoding.tokens) expected \(row.tokens)") }
        if plain.ids != row.ids_plain { problems.append("plain ids \(plain.ids) expected \(row.ids_plain)") }
        if !decoded.unicodeScalars.elementsEqual(row.decoded.unicodeScalars) {
            problems.append("decoded \(decoded.debugDescription) expected \(row.decoded.debugDescription)")
        }
        if !problems.isEmpty {
            count += 1
            if examples.count < 5 {
                examples.append("\(row.text.debugDescription): " + problems.joined(separator: "; "))
            }
        }
    }
    return (count, examples)
}

@Suite("Reference encodings of the tokenizers package")
struct ReferenceEncodingTests {
    static let families = [
        "gpt2", "gpt2-prefix", "llama3", "qwen2", "sentencepiece", "metaspace", "metaspace-split", "wordpiece", "bert",
        "bpe-suffix", "split-invert", "wordlevel", "legacy-merges", "smollm2",
    ]

    @Test("every string encodes and decodes as the library's", arguments: families)
    func family(_ name: String) throws {
        let directory = RepositoryPaths.fixtures.appendingPathComponent("tokenizers/\(name)")
        let (tokenizer, rows) = try loadReference(directory)
        #expect(rows.count >= 500)
        let (count, examples) = try mismatches(tokenizer, rows)
        #expect(
            count == 0,
            Comment(rawValue: "\(name): \(count) of \(rows.count) strings differ:\n" + examples.joined(separator: "\n"))
        )
    }
}
