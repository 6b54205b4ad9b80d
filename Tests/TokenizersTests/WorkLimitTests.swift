import Foundation
import Testing

@testable import Tokenizers

/// The documented work limits (``WorkLimits``): where they fall exactly, and that the decoder has them too.
@Suite struct WorkLimitTests {
    static let wordLevel = #""model": {"type": "WordLevel", "vocab": {"a": 0, "<unk>": 1}, "unk_token": "<unk>"}"#

    /// `count` steps of `Replace` "a" → "aa" as JSON.
    static func doubling(_ count: Int) -> String {
        Array(repeating: #"{"type": "Replace", "pattern": {"String": "a"}, "content": "aa"}"#, count: count)
            .joined(separator: ", ")
    }

    static func load(_ body: String) throws -> Tokenizer {
        try Tokenizer(json: Array("{\(body)}".utf8), path: "t/tokenizer.json")
    }

    /// One byte may grow to 1 MiB + 64 bytes: 20 doublings (2^20 = 1 048 576 bytes) pass, 21 (2 097 152) do not.
    @Test func normalizerOutputLimitIsWhereTheREADMEPutsIt() throws {
        #expect(WorkLimits.outputBytes(inputBytes: 1) == 1_048_640)
        let within = try Self.load(
            Self.wordLevel + #", "normalizer": {"type": "Sequence", "normalizers": [\#(Self.doubling(20))]}"#)
        #expect(try within.encode("a").ids == [1])
        let over = try Self.load(
            Self.wordLevel + #", "normalizer": {"type": "Sequence", "normalizers": [\#(Self.doubling(21))]}"#)
        #expect(throws: TokenizerError.self) { try over.encode("a") }
    }

    /// A decoder that doubles 40 times would have built 2^40 bytes from one token; it stops at the limit.
    @Test func decoderThatDoublesIsRefused() throws {
        let tokenizer = try Self.load(
            Self.wordLevel + #", "decoder": {"type": "Sequence", "decoders": [\#(Self.doubling(40))]}"#)
        let error = try #require(throws: TokenizerError.self) { try tokenizer.decode([0]) }
        #expect(error.message.hasPrefix("t/tokenizer.json: "), "\(error.message)")
        #expect(error.message.contains("Replace"), "\(error.message)")
        #expect(try tokenizer.decode([1]) == "<unk>")
    }
}
