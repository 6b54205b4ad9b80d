import Foundation
import JSONCore
import TestSupport
import Testing

@testable import Tokenizers

/// A `TokenizerError` that wraps another error — a read error, the JSON parser's, Foundation's refusal of a
/// regular expression, or the model's own `TokenizerError` re-raised with the file — keeps it as `cause`.
@Suite("TokenizerError keeps the error it wraps")
struct TokenizerErrorCauseTests {
    static func load(_ body: String) throws -> Tokenizer {
        try Tokenizer(json: Array("{\(body)}".utf8), path: "t/tokenizer.json")
    }

    @Test func regexFoundationRefusesKeepsFoundationsError() throws {
        let body =
            TokenizerErrorTests.wordLevel
            + #", "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(unclosed"}, "behavior": "Isolated"}"#
        let error = try #require(throws: TokenizerError.self) { try Self.load(body) }
        let cause = try #require(error.cause)
        // NSRegularExpression's refusal: NSFormattingError (2048) in the Cocoa domain.
        #expect((cause as NSError).domain == NSCocoaErrorDomain)
        #expect((cause as NSError).code == CocoaError.formatting.rawValue)
        #expect(error.message.hasSuffix("regular expression '(unclosed' is not valid in ICU's syntax (the one "
            + "NSRegularExpression reads; the tokenizers library uses Oniguruma's)"))
        #expect(!error.message.contains("NSCocoaErrorDomain"))
    }

    @Test func textThatIsNotJSONKeepsTheParserError() throws {
        let error = try #require(throws: TokenizerError.self) { try Self.load(#""model": "#) }
        let cause = try #require(error.cause as? JSONSyntaxError)
        #expect(error.message == "t/tokenizer.json: not JSON (byte \(cause.offset): \(cause.message))")
    }

    @Test func unreadableFileKeepsTheReadError() throws {
        let directory = try makeTemporaryDirectory("cause")
        let file = directory.appendingPathComponent("tokenizer.json")
        // tokenizer.json exists, but is a directory: it cannot be read as a file.
        try FileManager.default.createDirectory(at: file, withIntermediateDirectories: false)
        let error = try #require(throws: TokenizerError.self) { try Tokenizer(contentsOf: directory) }
        let cause = try #require(error.cause)
        #expect((cause as NSError).domain == NSCocoaErrorDomain)
        // The reason in words, not Foundation's "The operation could not be completed. (NSCocoaErrorDomain …)".
        let reason = "it is a directory; expected the tokenizer.json file"
        #expect(error.message == "\(file.path): cannot read the tokenizer: \(reason)")
    }

    /// The WordLevel model refuses a word without naming the file; the tokenizer adds the file and keeps the
    /// model's error as the cause.
    @Test func wordLevelRefusalKeepsTheModelsError() throws {
        let tokenizer = try Self.load(
            #""model": {"type": "WordLevel", "vocab": {"a": 0}}, "pre_tokenizer": {"type": "WhitespaceSplit"}"#)
        let error = try #require(throws: TokenizerError.self) { try tokenizer.encode("a b") }
        let cause = try #require(error.cause as? TokenizerError)
        #expect(cause.message.hasPrefix("word 'b' is not in the WordLevel vocabulary"))
        #expect(error.message == "t/tokenizer.json: \(cause.message)")
    }
}
