import Checkpoints
import Evaluation
import Foundation
import TestSupport
import Testing

/// `.text(url, prefix:)`: the demo's `<bos>` in front of each text, through the one check of a probe's ids.
@Suite("PromptSource: a text prefix goes through the same encoding and check")
struct PromptSourcePrefixTests {
    static let base = RepositoryPaths.tinyFamily.appendingPathComponent("base")

    /// The bundled tokenizer is character-level with `<bos>` = 1 and no post-processor
    /// (examples/tiny-family/README.md); the ids after `<bos>` are the tokenizers library's
    /// (Tests/Fixtures/analysis/tokenizer-reference.json, as in PromptFileTests).
    @Test func prefixIsEncodedAndKept() throws {
        let file = try makeTemporaryDirectory("prompt-prefix").appendingPathComponent("p.txt")
        try Data("66+24=\nmigia>\n".utf8).write(to: file)
        let prompts = try PromptSource.text(file, prefix: "<bos>")
            .load(for: Checkpoint(directory: Self.base), vocabularySize: 36, maxLength: 64)
        #expect(prompts.ids == [[1, 10, 10, 30, 6, 8, 31], [1, 26, 22, 20, 22, 14, 32]])
        #expect(prompts.texts == ["<bos>66+24=", "<bos>migia>"])
    }

    /// The prefix counts against max_position_embeddings, named with the prompt's line, as any prompt's tokens do.
    @Test func prefixCountsTowardTheLengthLimit() throws {
        let file = try makeTemporaryDirectory("prompt-prefix").appendingPathComponent("p.txt")
        try Data("66+24=\n".utf8).write(to: file)
        let source = PromptSource.text(file, prefix: "<bos>")
        _ = try source.load(for: Checkpoint(directory: Self.base), vocabularySize: 36, maxLength: 7)
        let error = #expect(throws: (any Error).self) {
            try source.load(for: Checkpoint(directory: Self.base), vocabularySize: 36, maxLength: 6)
        }
        #expect(error.map { "\($0)" }?.contains("p.txt:1: prompt \"<bos>66+24=\" has 7 tokens") == true)
    }
}
