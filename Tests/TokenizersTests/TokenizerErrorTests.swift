import Foundation
import TestSupport
import Testing

@testable import Tokenizers

@Suite("tokenizer.json components outside the supported set are refused by name")
struct TokenizerErrorTests {
    static let wordLevel = #""model": {"type": "WordLevel", "vocab": {"a": 0, "<unk>": 1}, "unk_token": "<unk>"}"#

    static func load(_ body: String) throws -> Tokenizer {
        try Tokenizer(json: Array("{\(body)}".utf8), path: "t/tokenizer.json")
    }

    @Test(
        "each unknown component is named",
        arguments: [
            (#""model": {"type": "Unigram", "vocab": [["a", 0.0]]}"#, "model 'Unigram'"),
            (#""model": {"type": "Tiktoken"}"#, "model 'Tiktoken'"),
            (
                wordLevel + #", "normalizer": {"type": "Precompiled", "precompiled_charsmap": ""}"#,
                "normalizer 'Precompiled'"
            ),
            (wordLevel + #", "pre_tokenizer": {"type": "UnicodeScripts"}"#, "pre_tokenizer 'UnicodeScripts'"),
            (wordLevel + #", "post_processor": {"type": "Custom"}"#, "post_processor 'Custom'"),
            (wordLevel + #", "decoder": {"type": "CTC"}"#, "decoder 'CTC'"),
            (wordLevel + #", "truncation": {"max_length": 4}"#, "truncation is set"),
            (
                wordLevel
                    + #", "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(unclosed"}, "#
                    + #""behavior": "Isolated"}"#,
                "regular expression '(unclosed'"
            ),
            (
                wordLevel
                    + #", "pre_tokenizer": {"type": "Split", "pattern": {"String": "x"}, "behavior": "Sideways"}"#,
                "behavior 'Sideways'"
            ),
            (#""model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b"]}"#, "merge 0 'a b'"),
        ])
    func refused(_ body: String, _ expected: String) throws {
        let error = try #require(throws: TokenizerError.self) { try Self.load(body) }
        #expect(error.message.contains("t/tokenizer.json"))
        #expect(error.message.contains(expected), "\(error.message)")
    }

    @Test func notJSONAndMissingFile() throws {
        let error = try #require(throws: TokenizerError.self) { try Self.load(#""model": "#) }
        #expect(error.message.contains("not JSON"))
        let directory = try makeTemporaryDirectory("tokenizer")
        let missing = try #require(throws: TokenizerError.self) { try Tokenizer(contentsOf: directory) }
        #expect(missing.message.contains("no tokenizer.json in this directory"))
    }

    /// A WordLevel vocabulary without the word and without unk_token: the library fails the encode, so do we.
    @Test func wordLevelWithoutUnknown() throws {
        let tokenizer = try Self.load(
            #""model": {"type": "WordLevel", "vocab": {"a": 0}}, "pre_tokenizer": {"type": "WhitespaceSplit"}"#)
        #expect(try tokenizer.encode("a a").ids == [0, 0])
        #expect(throws: TokenizerError.self) { try tokenizer.encode("a b") }
    }

    /// Two canonically equivalent tokens stay two tokens (a Swift String dictionary would merge them).
    @Test func canonicallyEquivalentTokensStayDistinct() throws {
        let tokenizer = try Self.load(
            #""model": {"type": "WordLevel", "vocab": {"\u00e9": 0, "e\u0301": 1, "<unk>": 2}, "unk_token": "<unk>"}, "#
                + #""pre_tokenizer": {"type": "WhitespaceSplit"}"#)
        #expect(try tokenizer.encode("\u{e9} e\u{301}").ids == [0, 1])
    }

    @Test func jsonLineKeepsKeyOrderAndEscapes() throws {
        let line = Encoding(ids: [1, 2], tokens: ["a\"b", "\n"]).jsonLine(text: "x\ty")
        #expect(line == #"{"text": "x\ty", "ids": [1, 2], "tokens": ["a\"b", "\n"]}"#)
    }
}
