import Foundation
import TestSupport
import Testing

/// A Hugging Face hub cache in a temporary folder, laid out as huggingface_hub writes it: for each model
/// `models--org--NAME/blobs/<sha256>` (the files), `snapshots/<commit>/FILE -> ../../blobs/<sha256>` and
/// `refs/main` holding the commit. `scripts/checks/run_all.py` (`hub_cache_layout_reads_in_huggingface_hub`) builds
/// the same layout and checks that huggingface_hub's `snapshot_download(local_files_only=True)` and
/// `try_to_load_from_cache` read it.
struct FakeHubCache {
    let root: URL
    /// The commit every model's `main` points to.
    static let commit = "0123456789abcdef0123456789abcdef01234567"

    init(_ label: String, models: [String] = ["base", "add", "rev"]) throws {
        root = try makeTemporaryDirectory(label).appendingPathComponent("hub")
        let fm = FileManager.default
        for name in models {
            let entry = root.appendingPathComponent("models--org--\(name)")
            let snapshot = entry.appendingPathComponent("snapshots/\(Self.commit)")
            for folder in ["blobs", "refs", "snapshots/\(Self.commit)"] {
                try fm.createDirectory(at: entry.appendingPathComponent(folder), withIntermediateDirectories: true)
            }
            let source = RepositoryPaths.tinyFamily.appendingPathComponent(name)
            for (index, file) in try fm.contentsOfDirectory(atPath: source.path).sorted().enumerated() {
                let blob = String(format: "%064x", index + 1)
                try fm.copyItem(
                    at: source.appendingPathComponent(file), to: entry.appendingPathComponent("blobs/\(blob)"))
                try fm.createSymbolicLink(
                    atPath: snapshot.appendingPathComponent(file).path, withDestinationPath: "../../blobs/\(blob)")
            }
            try Data(Self.commit.utf8).write(to: entry.appendingPathComponent("refs/main"))
        }
    }

    var environment: [String: String] { ["HF_HUB_CACHE": root.path] }
    func snapshot(_ name: String) -> URL {
        root.appendingPathComponent("models--org--\(name)/snapshots/\(Self.commit)")
    }
}

@Suite("Model references: paths stay paths, hub ids from the local cache, GGUF recognised")
struct InputPathTests {
    static var family: URL { RepositoryPaths.tinyFamily }

    static func json(_ text: String) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    static func oneLine(_ result: MetaMergeProcess.Result) -> Bool {
        result.stderr.split(separator: "\n").count == 1
    }

    // MARK: Paths stay paths

    @Test func anExistingPathWithPlusOrAtIsAPathInAConfig() throws {
        let work = try makeTemporaryDirectory("plus-at")
        for (source, target) in [("base", "llama+code"), ("add", "user@host"), ("rev", "rev")] {
            try FileManager.default.copyItem(
                at: Self.family.appendingPathComponent(source), to: work.appendingPathComponent(target))
        }
        let config = work.appendingPathComponent("merge.yml")
        try Data(
            """
            merge_method: task_arithmetic
            base_model: llama+code
            models:
              - model: user@host
                parameters: {weight: 0.5}
              - model: \(work.appendingPathComponent("rev").path)
                parameters: {weight: 0.5}
            """.utf8
        ).write(to: config)
        let dryRun = try MetaMergeProcess.run(
            ["merge", config.path, work.appendingPathComponent("out").path, "--dry-run"])
        #expect(dryRun.status == 0, "\(dryRun.stderr)")
        let byConfig = try MetaMergeProcess.run(
            ["analyze", config.path, "-o", work.appendingPathComponent("a.h5").path, "--json"])
        #expect(byConfig.status == 0, "\(byConfig.stderr)")
        let byFlags = try MetaMergeProcess.run([
            "analyze", "--base", work.appendingPathComponent("llama+code").path,
            "--model", work.appendingPathComponent("user@host").path,
            "--model", work.appendingPathComponent("rev").path, "-o", work.appendingPathComponent("b.h5").path,
            "--json",
        ])
        #expect(byFlags.status == 0, "\(byFlags.stderr)")
        #expect(byConfig.stdout == byFlags.stdout)
        #expect(byConfig.stdout.contains("user@host"))
    }

    @Test func basePlusAdapterOfTwoExistingFoldersNamesBoth() throws {
        let work = try makeTemporaryDirectory("lora")
        try FileManager.default.copyItem(
            at: Self.family.appendingPathComponent("base"), to: work.appendingPathComponent("llama+code"))
        let adapter = work.appendingPathComponent("adapter")
        try FileManager.default.createDirectory(at: adapter, withIntermediateDirectories: true)
        try Data(#"{"peft_type": "LORA", "r": 4}"#.utf8)
            .write(to: adapter.appendingPathComponent("adapter_config.json"))
        let config = work.appendingPathComponent("merge.yml")
        try Data("merge_method: linear\nmodels:\n  - model: llama+code+adapter\n  - model: llama+code\n".utf8)
            .write(to: config)
        for arguments in [
            ["merge", config.path, work.appendingPathComponent("out").path, "--dry-run"],
            ["analyze", "--base", "llama+code", "--model", "t=llama+code+adapter", "-o", "r.h5"],
        ] {
            let result = try MetaMergeProcess.run(arguments, in: work)
            #expect(result.status == 2)
            #expect(Self.oneLine(result), "\(result.stderr)")
            // merge and analyze apply BASE+ADAPTER (issue 20): the split is read, and this adapter's config is refused.
            #expect(
                result.stderr.contains(
                    adapter.appendingPathComponent("adapter_config.json").path + ": key 'lora_alpha': missing"),
                "\(result.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: work.appendingPathComponent("out").path))
    }

    @Test(arguments: [
        ("a+b", "read as BASE+ADAPTER: unsupported LoRA reference 'a+b' (model+lora); merge the adapter"),
        ("org/name@v1", "read as hub id 'org/name' at revision 'v1': not in the Hugging Face cache"),
        ("./not/here", "no such file or directory; it is not a hub id either"),
    ])
    func aMissingPathSaysWhichReadingWasTried(reference: String, expected: String) throws {
        let work = try makeTemporaryDirectory("readings")
        let cache = work.appendingPathComponent("empty-cache")
        for arguments in [
            ["inspect", reference], ["analyze", "--base", reference, "--model", reference, "-o", "r.h5"],
        ] {
            let result = try MetaMergeProcess.run(arguments, in: work, environment: ["HF_HUB_CACHE": cache.path])
            #expect(result.status == 2)
            #expect(Self.oneLine(result), "\(result.stderr)")
            #expect(result.stderr.contains(expected), "\(result.stderr)")
        }
    }

    // MARK: Hub ids

    @Test func inspectByHubIDEqualsInspectByPathAndALocalPathWins() throws {
        let cache = try FakeHubCache("hub-inspect", models: ["base"])
        let byPath = try MetaMergeProcess.run(["inspect", "--json", Self.family.appendingPathComponent("base").path])
        #expect(byPath.status == 0)
        for id in ["org/base", "org/base@main", "org/base@\(FakeHubCache.commit)"] {
            let byID = try MetaMergeProcess.run(["inspect", "--json", id], environment: cache.environment)
            #expect(byID.status == 0, "\(id): \(byID.stderr)")
            var a = try Self.json(byID.stdout)
            var b = try Self.json(byPath.stdout)
            #expect(a["directory"] as? String == cache.snapshot("base").path)
            a["directory"] = nil
            b["directory"] = nil
            #expect(NSDictionary(dictionary: a) == NSDictionary(dictionary: b), "\(id)")
        }
        let tokens = try MetaMergeProcess.run(["tokenize", "org/base", "12+3="], environment: cache.environment)
        #expect(tokens.status == 0, "\(tokens.stderr)")
        let tokensByPath = try MetaMergeProcess.run(
            ["tokenize", Self.family.appendingPathComponent("base").path, "12+3="])
        #expect(tokens.stdout == tokensByPath.stdout)
        // An existing local path wins over the id it also spells.
        let work = try makeTemporaryDirectory("hub-local-work")
        try FileManager.default.createDirectory(
            at: work.appendingPathComponent("org"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            at: Self.family.appendingPathComponent("add"), to: work.appendingPathComponent("org/base"))
        let local = try MetaMergeProcess.run(
            ["inspect", "--json", "org/base"], in: work, environment: cache.environment)
        #expect(local.status == 0, "\(local.stderr)")
        #expect(try Self.json(local.stdout)["directory"] as? String == work.appendingPathComponent("org/base").path)
    }

    @Test func analyzeAndMergeByHubIDEqualByPath() throws {
        let cache = try FakeHubCache("hub-merge")
        let work = try makeTemporaryDirectory("hub-merge-work")
        let byPath = try MetaMergeProcess.run(
            [
                "analyze", "--base", Self.family.appendingPathComponent("base").path,
                "--model", Self.family.appendingPathComponent("add").path,
                "--model", Self.family.appendingPathComponent("rev").path, "-o", "a.h5", "--json",
            ], in: work)
        #expect(byPath.status == 0, "\(byPath.stderr)")
        let byID = try MetaMergeProcess.run(
            ["analyze", "--base", "org/base", "--model", "org/add", "--model", "rev=org/rev", "-o", "b.h5", "--json"],
            in: work, environment: cache.environment)
        #expect(byID.status == 0, "\(byID.stderr)")
        #expect(byID.stdout == byPath.stdout)

        func config(_ name: String, base: String, models: [String], tokenizer: String) throws -> URL {
            let entries = models.map { "  - model: \($0)\n    parameters: {weight: 0.5}" }.joined(separator: "\n")
            let text =
                "merge_method: task_arithmetic\nbase_model: \(base)\nmodels:\n\(entries)\n"
                + "tokenizer_source: \(tokenizer)\ndtype: float32\n"
            let url = work.appendingPathComponent(name)
            try Data(text.utf8).write(to: url)
            return url
        }
        let pathConfig = try config(
            "path.yml", base: Self.family.appendingPathComponent("base").path,
            models: ["add", "rev"].map { Self.family.appendingPathComponent($0).path },
            tokenizer: Self.family.appendingPathComponent("add").path)
        let idConfig = try config(
            "id.yml", base: "org/base@main", models: ["org/add", "org/rev@\(FakeHubCache.commit)"],
            tokenizer: "org/add")
        let one = try MetaMergeProcess.run(["merge", pathConfig.path, "by-path", "--quiet"], in: work)
        #expect(one.status == 0, "\(one.stderr)")
        let two = try MetaMergeProcess.run(
            ["merge", idConfig.path, "by-id", "--quiet"], in: work, environment: cache.environment)
        #expect(two.status == 0, "\(two.stderr)")
        for file in ["model.safetensors", "config.json", "tokenizer.json"] {
            let a = try Data(contentsOf: work.appendingPathComponent("by-path/\(file)"))
            let b = try Data(contentsOf: work.appendingPathComponent("by-id/\(file)"))
            #expect(a == b, "\(file) differs")
        }
        let evalByID = try MetaMergeProcess.run(
            ["eval", "org/add", "--task", "add=\(Self.family.path)/tasks/add.jsonl", "--json"],
            environment: cache.environment)
        let evalByPath = try MetaMergeProcess.run([
            "eval", Self.family.appendingPathComponent("add").path, "--task", "add=\(Self.family.path)/tasks/add.jsonl",
            "--json",
        ])
        #expect(evalByID.status == 0, "\(evalByID.stderr)")
        #expect(evalByID.stdout == evalByPath.stdout)
    }

    @Test func aHubIDNotInTheCacheNamesTheFolderAndTheDownload() throws {
        let cache = try FakeHubCache("hub-missing", models: ["base"])
        let missing = try MetaMergeProcess.run(["inspect", "org/missing"], environment: cache.environment)
        #expect(missing.status == 2)
        #expect(Self.oneLine(missing), "\(missing.stderr)")
        #expect(missing.stderr.contains("no folder \(cache.root.path)/models--org--missing"), "\(missing.stderr)")
        #expect(missing.stderr.contains("hf download org/missing"))
        let branch = try MetaMergeProcess.run(["inspect", "org/base@dev"], environment: cache.environment)
        #expect(branch.status == 2)
        #expect(branch.stderr.contains("no ref 'dev'"), "\(branch.stderr)")
        #expect(branch.stderr.contains("hf download org/base --revision dev"))
        // A config names the same: the cache folder searched.
        let work = try makeTemporaryDirectory("hub-missing-config")
        let config = work.appendingPathComponent("m.yml")
        try Data("merge_method: linear\nmodels:\n  - model: org/base\n  - model: org/missing\n".utf8).write(to: config)
        let merge = try MetaMergeProcess.run(
            ["merge", config.path, work.appendingPathComponent("out").path, "--dry-run"],
            environment: cache.environment)
        #expect(merge.status == 2)
        #expect(merge.stderr.contains("model 'org/missing'"), "\(merge.stderr)")
        #expect(merge.stderr.contains("models--org--missing"))
    }

    @Test func hubCacheLocationFollowsHFHomeWhenHFHubCacheIsUnset() throws {
        let cache = try FakeHubCache("hub-home", models: ["base"])
        let home = cache.root.deletingLastPathComponent()
        let process = Process()
        process.executableURL = MetaMergeProcess.executable
        process.arguments = ["inspect", "org/base"]
        var full = ProcessInfo.processInfo.environment
        full["HF_HUB_CACHE"] = nil
        full["HUGGINGFACE_HUB_CACHE"] = nil
        full["HF_HOME"] = home.path
        process.environment = full
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
    }

    // MARK: GGUF

    /// A GGUF header by hand: magic, version 3, 7 tensors, 0 metadata entries (UInt64 counts, little-endian).
    static func writeGGUF(to url: URL) throws {
        var bytes = Array("GGUF".utf8)
        bytes += [3, 0, 0, 0]
        bytes += [7, 0, 0, 0, 0, 0, 0, 0]
        bytes += [0, 0, 0, 0, 0, 0, 0, 0]
        try Data(bytes).write(to: url)
    }

    @Test func aGGUFFileIsNamedAsGGUFEverywhere() throws {
        let work = try makeTemporaryDirectory("gguf")
        let file = work.appendingPathComponent("tiny.Q8_0.gguf")
        try Self.writeGGUF(to: file)
        let folder = work.appendingPathComponent("only-gguf")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            at: Self.family.appendingPathComponent("base/config.json"),
            to: folder.appendingPathComponent("config.json"))
        try Self.writeGGUF(to: folder.appendingPathComponent("model.gguf"))
        let disguised = work.appendingPathComponent("disguised")
        try FileManager.default.createDirectory(at: disguised, withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            at: Self.family.appendingPathComponent("base/config.json"),
            to: disguised.appendingPathComponent("config.json"))
        try Self.writeGGUF(to: disguised.appendingPathComponent("model.safetensors"))
        let add = Self.family.appendingPathComponent("add").path
        let task = "add=\(Self.family.path)/tasks/add.jsonl"
        let cases: [([String], String)] = [
            (["inspect", file.path], file.path),
            (["inspect", folder.path], folder.appendingPathComponent("model.gguf").path),
            (["inspect", disguised.path], disguised.appendingPathComponent("model.safetensors").path),
            (
                ["analyze", "--base", file.path, "--model", add, "-o", work.appendingPathComponent("r.h5").path],
                file.path
            ),
            (["eval", file.path, "--task", task], file.path),
            (["eval", folder.path, "--task", task], folder.appendingPathComponent("model.gguf").path),
        ]
        for (arguments, named) in cases {
            let result = try MetaMergeProcess.run(arguments)
            #expect(result.status == 2, "\(arguments)")
            #expect(Self.oneLine(result), "\(arguments): \(result.stderr)")
            #expect(
                result.stderr.contains("\(named): is a GGUF file (llama.cpp format, version 3, 7 tensors)"),
                "\(arguments): \(result.stderr)")
            #expect(result.stderr.contains("gguf_file="), "\(result.stderr)")
            #expect(result.stderr.contains("convert_smollm2.py"), "\(result.stderr)")
        }
    }
}
