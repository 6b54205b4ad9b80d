import Foundation
import TestSupport
import Testing

/// `tokenizer_source: union` over tokenizers whose tokens differ only by look-alikes: a precomposed "é" (U+00E9)
/// beside "e" + U+0301, and the ligature "ﬁ" (U+FB01) beside "fi". Swift's `String` equality (canonical
/// equivalence) would make the two é one token; MergeKit, Python and `tokenizers` compare code points, so the union
/// keeps all four with distinct ids. Expected ids from `tokenizers` and MergeKit's union rule
/// (scripts/fixtures/make_lookalike_union_fixture.py → Tests/Fixtures/tokenizers/lookalike/expected.json).
@Suite("tokenizer_source: union keeps look-alike tokens apart")
struct VocabularyUnionTests {
    private struct Expected: Decodable {
        struct Added: Decodable {
            let id: Int
            let content: String
        }
        struct Encoding: Decodable {
            let text: String
            let ids: [Int]
        }
        let vocab_size: Int
        let added_tokens: [Added]
        let encodings: [Encoding]
    }

    /// The `[id, content]` entries of a tokenizer.json's `added_tokens` (an array, so no key is merged).
    private struct TokenizerFile: Decodable {
        let added_tokens: [Expected.Added]
    }

    private static func scalars(_ text: String) -> [UInt32] { text.unicodeScalars.map(\.value) }

    /// The first dimension of `tensor` in a safetensors file, from its header.
    private static func rows(of tensor: String, in url: URL) throws -> Int? {
        let data = try Data(contentsOf: url)
        let length = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let header = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + length))) as? [String: Any]
        return ((header?[tensor] as? [String: Any])?["shape"] as? [Int])?.first
    }

    @Test func unionKeepsCanonicallyEquivalentAndCompatibilityTokensDistinct() throws {
        let fixture = RepositoryPaths.fixtures.appendingPathComponent("tokenizers/lookalike")
        let expected = try JSONDecoder().decode(
            Expected.self, from: Data(contentsOf: fixture.appendingPathComponent("expected.json")))
        let family = try FamilyCopy("lookalike-union", tasks: ["add"])
        for (model, source) in [("base", "base"), ("add", "model")] {
            let target = family.model(model).appendingPathComponent("tokenizer.json")
            try FileManager.default.removeItem(at: target)
            try FileManager.default.copyItem(
                at: fixture.appendingPathComponent("\(source)/tokenizer.json"), to: target)
        }
        let config = try family.config(extra: "tokenizer_source: union\n")
        let output = family.workspace.appendingPathComponent("merged")
        let merge = try MetaMergeProcess.run(["merge", config.path, output.path])
        #expect(merge.status == 0, "\(merge.stderr)")

        let written = try JSONDecoder().decode(
            TokenizerFile.self, from: Data(contentsOf: output.appendingPathComponent("tokenizer.json")))
        #expect(written.added_tokens.map(\.id) == expected.added_tokens.map(\.id))
        #expect(
            written.added_tokens.map { Self.scalars($0.content) }
                == expected.added_tokens.map { Self.scalars($0.content) })
        let weights = output.appendingPathComponent("model.safetensors")
        #expect(try Self.rows(of: "model.embed_tokens.weight", in: weights) == expected.vocab_size)
        #expect(try Self.rows(of: "lm_head.weight", in: weights) == expected.vocab_size)

        for encoding in expected.encodings {
            let result = try MetaMergeProcess.run(["tokenize", output.path, "--no-special-tokens", encoding.text])
            #expect(result.status == 0, "\(result.stderr)")
            let line = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
            #expect(line?["ids"] as? [Int] == encoding.ids, "ids of \(Self.scalars(encoding.text))")
        }
    }
}
