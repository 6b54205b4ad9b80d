import Evaluation
import Foundation
import Statistics
import TestSupport
import Testing
import Tokenizers

/// The label-free inputs: prompts files (`recommend --prompts`) and the base config's `eos_token_id`.
@Suite("Label-free: prompts files and end-of-sequence ids")
struct LabelFreeInputTests {
    static func tokenizer() throws -> Tokenizer {
        try Tokenizer(contentsOf: RepositoryPaths.tinyFamily.appendingPathComponent("base"))
    }

    static func load(_ text: String, maxLength: Int = 64) throws -> UnlabeledPrompts {
        let url = try makeTemporaryDirectory("labelfree-prompts").appendingPathComponent("p.jsonl")
        try Data(text.utf8).write(to: url)
        return try UnlabeledPrompts.load(
            name: "add", url: url, tokenizer: try tokenizer(), vocabularySize: 36, maxLength: maxLength)
    }

    static func message(_ body: () throws -> Void) -> String {
        do {
            try body()
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    @Test func promptsAreReadWithTheirLinesAndCompletionsIgnored() throws {
        let prompts = try Self.load(
            "{\"prompt\": \"<bos>1+2=\", \"completion\": \"3<eos>\"}\n\n{\"prompt\": \"<bos>12+2=\"}\r\n")
        #expect(prompts.lines == [1, 3])
        #expect(prompts.prompts.count == 2)
        #expect(prompts.prompts[0].first == 1)  // <bos>
        #expect(prompts.prompts[1].count == prompts.prompts[0].count + 1)
    }

    @Test func badPromptFilesNameTheFileAndLine() throws {
        let cases: [(String, String)] = [
            ("{\"prompt\": \"<bos>1=\"}\n[1]\n", ":2: not a JSON object; a prompts file is JSONL"),
            ("{\"completion\": \"3\"}\n", ":1: no \"prompt\" string"),
            ("{\"prompt\": \"\"}\n", ":1: the prompt encodes to no tokens"),
            ("{\"prompt\": \"<bos>1\", \"prompt\": \"2\"}\n", ":1: the key \"prompt\" appears twice"),
            ("\n\n", ": no prompts; expected JSONL lines"),
        ]
        for (text, expected) in cases {
            let message = Self.message { _ = try Self.load(text) }
            #expect(message.contains(expected), "\(text.debugDescription): \(message)")
            #expect(message.contains("p.jsonl"), "\(message)")
        }
        let long = Self.message { _ = try Self.load("{\"prompt\": \"<bos>12345+678=\"}\n", maxLength: 5) }
        #expect(long.contains(":1: the prompt has 11 tokens, leaving no room for a new token"), "\(long)")
    }

    @Test func endOfSequenceIDsAreAnIntegerAListOrNone() throws {
        let directory = try makeTemporaryDirectory("labelfree-eos")
        func ids(_ json: String) throws -> Set<Int> {
            try Data(json.utf8).write(to: directory.appendingPathComponent("config.json"))
            return try TeacherDecoding.endOfSequenceIDs(modelDirectory: directory)
        }
        #expect(try ids("{\"eos_token_id\": 2}") == [2])
        #expect(try ids("{\"eos_token_id\": [2, 7]}") == [2, 7])
        #expect(try ids("{\"eos_token_id\": null}") == [])
        #expect(try ids("{}") == [])
        #expect(Self.message { _ = try ids("{\"eos_token_id\": \"2\"}") }.contains("eos_token_id is a string"))
        #expect(Self.message { _ = try ids("{\"eos_token_id\": [2, -1]}") }.contains("eos_token_id holds"))
    }
}
