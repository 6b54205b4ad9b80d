import Checkpoints
import Evaluation
import Foundation
import TestSupport
import Testing

@Suite("Prompt files and random prompts: bad input is one clear error")
struct PromptFileTests {
    static let base = RepositoryPaths.tinyFamily.appendingPathComponent("base")

    static func load(_ source: PromptSource, maxLength: Int = 64) throws -> Prompts {
        try source.load(for: Checkpoint(directory: base), vocabularySize: 36, maxLength: maxLength)
    }

    static func file(_ name: String, _ bytes: [UInt8]) throws -> URL {
        let url = try makeTemporaryDirectory("prompts").appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url
    }

    static func message(_ body: () throws -> Prompts) -> String {
        do {
            _ = try body()
            return "no error"
        } catch { return "\(error)" }
    }

    /// Text prompts give the ids the `tokenizers` library gives (Tests/Fixtures/analysis/tokenizer-reference.json)
    /// and keep their texts; CRLF line ends are accepted in both kinds of file.
    @Test func textAndIDFilesWithCRLF() throws {
        let text = try Self.file("p.txt", Array("66+24=\r\nmigia>\r\n154043|".utf8))
        let prompts = try Self.load(.text(text))
        #expect(prompts.ids == [[10, 10, 30, 6, 8, 31], [26, 22, 20, 22, 14, 32], [5, 9, 8, 4, 8, 7, 33]])
        #expect(prompts.texts == ["66+24=", "migia>", "154043|"])
        let ids = try Self.file("ids.txt", Array("1 2 3\r\n4,5\r\n".utf8))
        #expect(try Self.load(.tokenIDs(ids)) == Prompts(ids: [[1, 2, 3], [4, 5]], texts: nil))
    }

    @Test func jsonlPromptsMayHoldNewlines() throws {
        let url = try Self.file("p.jsonl", Array(#"{"text": "12\n34"}"#.utf8) + [0x0A] + Array(#"{"text": "ab"}"#.utf8))
        let prompts = try Self.load(.text(url))
        #expect(prompts.texts == ["12\n34", "ab"])
        #expect(prompts.ids[1] == [14, 15])
        let bad = try Self.file("bad.jsonl", Array(#"{"prompt": "x"}"#.utf8))
        #expect(Self.message { try Self.load(.text(bad)) }.contains("bad.jsonl:1"))
    }

    @Test func emptyLineInvalidUTF8AndTooLong() throws {
        let empty = try Self.file("e.txt", Array("12\n\n34\n".utf8))
        #expect(Self.message { try Self.load(.text(empty)) }.contains("e.txt:2: empty prompt line"))
        let invalid = try Self.file("u.txt", Array("12\n".utf8) + [0x61, 0xFF, 0x62, 0x0A])
        #expect(Self.message { try Self.load(.text(invalid)) }.contains("u.txt:2: not valid UTF-8"))
        let long = try Self.file("l.txt", Array("1\n\(String(repeating: "7", count: 70))\n".utf8))
        let tooLong = Self.message { try Self.load(.text(long)) }
        #expect(
            tooLong.contains("l.txt:2") && tooLong.contains("70 tokens")
                && tooLong.contains("max_position_embeddings 64"))
    }

    /// 100 000 lines: refused once the line past the limit is read, with the reason.
    @Test func hundredThousandLines() throws {
        let url = try Self.file("many.txt", Array(String(repeating: "12\n", count: 100_000).utf8))
        let message = Self.message { try Self.load(.text(url)) }
        #expect(message.contains("more than \(PromptSource.maxPrompts) prompts"))
    }

    @Test(arguments: [(-1, 16), (0, 16), (1_000_000_000, 16), (8, -1), (8, 0), (8, 1 << 40)])
    func randomPromptRanges(_ count: Int, _ length: Int) throws {
        let message = Self.message { try Self.load(.random(count: count, length: length, seed: 0)) }
        #expect(message.contains(count < 1 || count > 10_000 ? "--random-prompts" : "--prompt-length"), "\(message)")
    }
}
