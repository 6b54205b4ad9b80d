import Testing
import Tokenizers

/// The vocabulary a merge aligns: entries in file order with their exact scalars, added tokens written back as
/// `JSONSerialization` with `.sortedKeys` wrote them (cases known by hand).
@Suite("TokenizerVocabulary: exact tokens, added tokens written back")
struct TokenizerVocabularyTests {
    @Test func canonicallyEquivalentTokensStayTwoEntries() throws {
        let json = #"{"model": {"vocab": {"\u00e9": 0, "e\u0301": 1, "\ufb01": 2, "fi": 3, "x": 1.5}}}"#
        let vocabulary = try TokenizerVocabulary(json: Array(json.utf8))
        #expect(vocabulary.entries.map(\.id) == [0, 1, 2, 3])
        #expect(
            vocabulary.entries.map { $0.token.unicodeScalars.map(\.value) }
                == [[0xE9], [0x65, 0x301], [0xFB01], [0x66, 0x69]])
        #expect(TokenText("\u{E9}") != TokenText("e\u{301}"))
        #expect(Set(vocabulary.entries.map { TokenText($0.token) }).count == 4)
    }

    @Test func unigramPiecesTakeTheirPositionAsID() throws {
        let json = #"{"model": {"type": "Unigram", "vocab": [["<unk>", 0.0], ["a", -1.5]]}}"#
        let vocabulary = try TokenizerVocabulary(json: Array(json.utf8))
        #expect(vocabulary.entries.map(\.token) == ["<unk>", "a"])
        #expect(vocabulary.entries.map(\.id) == [0, 1])
    }

    @Test func noVocabularyAndNotJSONAreTold() {
        let noVocabulary = #expect(throws: TokenizerVocabulary.Failure.self) {
            try TokenizerVocabulary(json: Array(#"{"model": {}}"#.utf8))
        }
        #expect(noVocabulary?.kind == .noVocabulary)
        let notJSON = #expect(throws: TokenizerVocabulary.Failure.self) {
            try TokenizerVocabulary(json: Array(#"{"model": "#.utf8))
        }
        #expect(notJSON?.kind == .notJSON)
    }

    @Test func addedTokenIsWrittenWithSortedKeysAndTheNewID() throws {
        let json =
            #"{"model": {"vocab": {}}, "added_tokens": [{"id": 2, "content": "</s>", "special": true, "#
            + #""single_word": false, "lstrip": false, "rstrip": false, "normalized": false}]}"#
        let added = try #require(try TokenizerVocabulary(json: Array(json.utf8)).addedTokens.first)
        #expect(
            added.json(id: 40)
                == #"{"content":"<\/s>","id":40,"lstrip":false,"normalized":false,"rstrip":false,"#
                + #""single_word":false,"special":true}"#)
        #expect(
            TokenizerAddedToken.json(plain: "a\u{8}", id: 7)
                == #"{"content":"a\b","id":7,"lstrip":false,"normalized":true,"rstrip":false,"single_word":false,"#
                + #""special":false}"#)
    }
}
