import Foundation
import HDF5
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Cases of the issue-17 adversarial round: inputs that hung a command (a FIFO where a file belongs, a config whose
/// parsing or planning grows without bound) or that a command accepted and answered with a meaningless number. Each
/// now ends in exit 2 with one line naming the file and what was expected.
@Suite struct AdversarialTests {
    /// The outcome of a run that is stopped after `seconds` (a hang must fail the test, not stall the suite).
    struct Bounded {
        let status: Int32
        let stderr: String
        let timedOut: Bool
    }

    /// Runs `metamerge` with `arguments`, killing it when it is still running after `seconds`.
    static func runBounded(_ arguments: [String], seconds: Double = 15) throws -> Bounded {
        let process = Process()
        process.executableURL = MetaMergeProcess.executable
        process.arguments = arguments
        let directory = try makeTemporaryDirectory("adversarial-run")
        let errURL = directory.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let errHandle = try FileHandle(forWritingTo: errURL)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errHandle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning, Date() < deadline { usleep(20_000) }
        let timedOut = process.isRunning
        if timedOut {
            kill(process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
        try errHandle.close()
        let stderr = String(decoding: try Data(contentsOf: errURL), as: UTF8.self)
        return Bounded(status: process.terminationStatus, stderr: stderr, timedOut: timedOut)
    }

    /// A named pipe at `url` that nobody writes to: opening it for reading blocks forever.
    static func makeFIFO(_ url: URL) throws {
        try? FileManager.default.removeItem(at: url)
        try #require(mkfifo(url.path, 0o644) == 0)
    }

    static func expectOneLineRefusal(_ result: Bounded, naming path: String, _ label: String) {
        #expect(!result.timedOut, "\(label): still running after the time limit (hang)")
        #expect(result.status == 2, "\(label): \(result.stderr)")
        #expect(result.stderr.contains(path), "\(label): \(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1, "\(label): \(result.stderr)")
    }

    /// A model directory whose `model.safetensors` is a FIFO: `inspect` opened it and waited for a writer forever.
    @Test func fifoWeightFileIsRefusedNotAwaited() throws {
        let family = try FamilyCopy("adv-fifo-weights", tasks: ["add"])
        let weights = family.model("add").appendingPathComponent("model.safetensors")
        try Self.makeFIFO(weights)
        let inspect = try Self.runBounded(["inspect", family.model("add").path])
        Self.expectOneLineRefusal(inspect, naming: weights.path, "inspect")
        #expect(inspect.stderr.contains("not a regular file"), "\(inspect.stderr)")
        let analyze = try Self.runBounded(
            ["analyze"] + family.arguments + ["-o", family.workspace.appendingPathComponent("r.h5").path])
        Self.expectOneLineRefusal(analyze, naming: weights.path, "analyze")
    }

    /// A FIFO given as a report (`check`, `recommend`, `merge --stats`) or as `-o` (whose existing file is read to
    /// see whether it is a report): HDF5 opened it and waited forever.
    @Test func fifoReportIsRefusedNotAwaited() throws {
        let family = try FamilyCopy("adv-fifo-report", tasks: ["add", "rev"])
        let fifo = family.workspace.appendingPathComponent("report.h5")
        try Self.makeFIFO(fifo)
        let check = try Self.runBounded(["check", fifo.path, "--max-cosine", "0.5"])
        Self.expectOneLineRefusal(check, naming: fifo.path, "check")
        let recommend = try Self.runBounded(["recommend", fifo.path])
        Self.expectOneLineRefusal(recommend, naming: fifo.path, "recommend")
        let config = try family.config("metagpt")
        let merge = try Self.runBounded(
            ["merge", config.path, family.workspace.appendingPathComponent("out").path, "--stats", fifo.path,
             "--dry-run"])
        Self.expectOneLineRefusal(merge, naming: fifo.path, "merge --stats")
        let analyze = try Self.runBounded(["analyze"] + family.arguments + ["-o", fifo.path])
        Self.expectOneLineRefusal(analyze, naming: fifo.path, "analyze -o")
        var status = stat()
        #expect(lstat(fifo.path, &status) == 0 && (status.st_mode & S_IFMT) == S_IFIFO, "-o replaced the FIFO")
    }

    /// `--prompts FIFO` waited forever; a config path that is a FIFO or a device said "Foundation error code 257".
    @Test func fifoPromptFileAndConfigAreRefusedInWords() throws {
        let family = try FamilyCopy("adv-fifo-prompts", tasks: ["add"])
        let prompts = family.workspace.appendingPathComponent("prompts.txt")
        try Self.makeFIFO(prompts)
        let probe = try Self.runBounded(
            ["probe"] + family.arguments + [
                "--prompts", prompts.path, "--alphas", "0,0.5,1", "-o",
                family.workspace.appendingPathComponent("p.h5").path,
            ])
        Self.expectOneLineRefusal(probe, naming: prompts.path, "probe --prompts")
        #expect(probe.stderr.contains("FIFO"), "\(probe.stderr)")

        let config = family.workspace.appendingPathComponent("merge.yml")
        try Self.makeFIFO(config)
        let merge = try Self.runBounded(
            ["merge", config.path, family.workspace.appendingPathComponent("out").path, "--dry-run"])
        Self.expectOneLineRefusal(merge, naming: config.path, "merge FIFO config")
        #expect(merge.stderr.contains("FIFO"), "\(merge.stderr)")
        #expect(!merge.stderr.contains("error code"), "\(merge.stderr)")

        let tokenizer = family.model("base").appendingPathComponent("tokenizer.json")
        try Self.makeFIFO(tokenizer)
        let tokenize = try Self.runBounded(["tokenize", family.model("base").path, "12+34="])
        Self.expectOneLineRefusal(tokenize, naming: tokenizer.path, "tokenize FIFO tokenizer.json")
        #expect(tokenize.stderr.contains("FIFO"), "\(tokenize.stderr)")
    }

    /// A 1.5 MB config (one gradient of 300 000 values) took YAML parsing tens of seconds; a config is now at most
    /// 1 MiB, refused before it is parsed.
    @Test func hugeConfigIsRefusedBeforeParsing() throws {
        let family = try FamilyCopy("adv-huge-config", tasks: ["add"])
        let gradient = Array(repeating: "0.5", count: 300_000).joined(separator: ",")
        let config = family.workspace.appendingPathComponent("huge.yml")
        let text =
            "merge_method: task_arithmetic\nbase_model: \(family.model("base").path)\nmodels:\n"
            + "  - model: \(family.model("add").path)\n    parameters: {weight: [\(gradient)]}\ndtype: float32\n"
        try Data(text.utf8).write(to: config)
        let result = try Self.runBounded(
            ["merge", config.path, family.workspace.appendingPathComponent("out").path, "--dry-run"], seconds: 10)
        Self.expectOneLineRefusal(result, naming: config.path, "merge huge config")
        #expect(result.stderr.contains("1048576"), "\(result.stderr)")
    }

    /// 300 slices of the 4-layer model (1 200 output layers) were planned one tensor at a time — 20 000 slices ran
    /// for minutes; the output of `slices:` now has at most 1 024 layers.
    @Test func slicesBuildAtMost1024Layers() throws {
        let family = try FamilyCopy("adv-slices", tasks: ["add"])
        let slice = "  - sources:\n      - model: \(family.model("add").path)\n        layer_range: [0, 4]\n"
        let config = family.workspace.appendingPathComponent("slices.yml")
        try Data(
            ("merge_method: passthrough\nslices:\n" + String(repeating: slice, count: 300) + "dtype: float32\n").utf8
        ).write(to: config)
        let result = try Self.runBounded(
            ["merge", config.path, family.workspace.appendingPathComponent("out").path, "--dry-run"])
        Self.expectOneLineRefusal(result, naming: config.path, "merge 1200-layer slices")
        #expect(result.stderr.contains("1024"), "\(result.stderr)")

        let allowed = family.workspace.appendingPathComponent("allowed.yml")
        try Data(
            ("merge_method: passthrough\nslices:\n" + String(repeating: slice, count: 256) + "dtype: float32\n").utf8
        ).write(to: allowed)
        let ok = try Self.runBounded(
            ["merge", allowed.path, family.workspace.appendingPathComponent("out").path, "--dry-run"])
        #expect(ok.status == 0, "1024 layers: \(ok.stderr)")
    }

    /// One NaN weight in a task model: `analyze` counts it in /tensors/non_finite (its Gram entries skip it), and
    /// `recommend` printed a merge point from those statistics as if they were defined. `check` fails such a family;
    /// `recommend` now refuses it naming the model.
    @Test func recommendRefusesAFamilyWithNonFiniteWeights() throws {
        let family = try FamilyCopy("adv-recommend-nan", tasks: ["add", "rev"])
        let weights = family.model("add").appendingPathComponent("model.safetensors")
        var bytes = try Data(contentsOf: weights)
        let headerLength = bytes.prefix(8).enumerated().reduce(0) { $0 | (Int($1.element) << (8 * $1.offset)) }
        var nan = Float.nan.bitPattern
        withUnsafeBytes(of: &nan) { bytes.replaceSubrange((8 + headerLength)..<(12 + headerLength), with: $0) }
        try bytes.write(to: weights)
        let report = family.workspace.appendingPathComponent("r.h5")
        let analyze = try MetaMergeProcess.run(["analyze"] + family.arguments + ["-o", report.path])
        try #require(analyze.status == 0, "\(analyze.stderr)")
        let result = try MetaMergeProcess.run(["recommend", report.path])
        #expect(result.status == 2, "\(result.stdout)")
        #expect(result.stderr.contains("'add'") && result.stderr.contains(family.model("add").path), "\(result.stderr)")
        #expect(result.stderr.contains("non-finite"), "\(result.stderr)")
        #expect(result.stdout.isEmpty)
    }

    /// A family whose only task model is a copy of the base: `recommend` said "every task vector is zero" without
    /// naming a model or file.
    @Test func recommendNamesTheModelsWhoseTaskVectorsAreZero() throws {
        let family = try FamilyCopy("adv-zero-tau", tasks: [])
        let copy = family.root.appendingPathComponent("copy")
        try FileManager.default.copyItem(at: family.model("base"), to: copy)
        let report = family.workspace.appendingPathComponent("r.h5")
        let analyze = try MetaMergeProcess.run(
            ["analyze", "--base", family.model("base").path, "--model", "copy=\(copy.path)", "-o", report.path])
        try #require(analyze.status == 0, "\(analyze.stderr)")
        let result = try MetaMergeProcess.run(["recommend", report.path])
        #expect(result.status == 2)
        #expect(result.stderr.contains(copy.path), "\(result.stderr)")
    }

    /// A report re-saved by h5py with `compression="lzf"` (a filter libhdf5 lacks): the refusal blamed "can't open
    /// directory: …/hdf5/serial/plugins". Fixture: scripts/fixtures/make_adversarial_fixtures.py.
    @Test func reportThroughAMissingHDF5FilterIsDescribed() throws {
        let report = RepositoryPaths.fixtures.appendingPathComponent("adversarial/report-tasks-lzf.h5")
        for arguments in [["check", report.path, "--max-cosine", "0.5"], ["recommend", report.path]] {
            let result = try MetaMergeProcess.run(arguments)
            #expect(result.status == 2)
            #expect(
                result.stderr.contains("/tasks") && result.stderr.contains("filter 32000 (lzf)"), "\(result.stderr)")
            #expect(!result.stderr.contains("plugins"), "\(result.stderr)")
        }
    }

    /// A report whose `/tensors/name` lists one tensor twice (another left out) was read as if whole: `check`,
    /// `recommend` and `merge --stats` used it.
    @Test func reportListingATensorTwiceIsRefused() throws {
        let reports = try TrustReportTests.Reports("adv-dup-names")
        let edited = reports.family.workspace.appendingPathComponent("dup.h5")
        try reports.copy(to: edited, omitting: ["/tensors/name"])
        let source = try HDF5File.open(at: reports.statistics)
        var names = try source.root.group("tensors").dataset("name").readStrings()
        try source.close()
        names[1] = names[0]
        let target = try HDF5File.open(at: edited, mode: .readWrite)
        try target.root.group("tensors").createDataset("name", strings: names)
        try target.close()
        for arguments in [["check", edited.path, "--max-cosine", "1"], ["recommend", edited.path]] {
            let result = try MetaMergeProcess.run(arguments)
            #expect(result.status == 2, "\(arguments[0]): \(result.stdout)")
            #expect(result.stderr.contains(edited.path) && result.stderr.contains("/tensors/name"), "\(result.stderr)")
            #expect(result.stderr.contains("'\(names[0])'"), "\(result.stderr)")
        }
    }

    /// A report whose row for model.embed_tokens.weight was renamed (fingerprints still those of the models):
    /// `merge --stats` summed λ over the rows it had and gave the missing tensor no statistics, silently.
    @Test func mergeStatsRefusesAReportMissingAMergedTensor() throws {
        let reports = try TrustReportTests.Reports("adv-missing-row")
        let edited = reports.family.workspace.appendingPathComponent("renamed.h5")
        try reports.copy(to: edited, omitting: ["/tensors/name"])
        let source = try HDF5File.open(at: reports.statistics)
        var names = try source.root.group("tensors").dataset("name").readStrings()
        try source.close()
        let index = try #require(names.firstIndex(of: "model.embed_tokens.weight"))
        names[index] = "model.embed_tokens.weight.renamed"
        let target = try HDF5File.open(at: edited, mode: .readWrite)
        try target.root.group("tensors").createDataset("name", strings: names)
        try target.close()
        let config = try reports.family.config("metagpt")
        let out = reports.family.workspace.appendingPathComponent("merged")
        let result = try MetaMergeProcess.run(["merge", config.path, out.path, "--stats", edited.path, "--quiet"])
        #expect(result.status == 2, "\(result.stdout)")
        #expect(result.stderr.contains(edited.path) && result.stderr.contains("'model.embed_tokens.weight'"),
            "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out.path))
    }

    /// `rope_parameters.rope_theta` given as a string ("500000") was ignored and RoPE ran with the default 10 000:
    /// `eval` scored another model than the config describes.
    @Test func ropeThetaOfTheWrongTypeIsRefused() throws {
        let family = try FamilyCopy("adv-rope-theta", tasks: ["add"])
        let configURL = family.model("add").appendingPathComponent("config.json")
        var config = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: configURL)) as? [String: Any])
        config["rope_parameters"] = ["rope_theta": "500000", "rope_type": "default"]
        try JSONSerialization.data(withJSONObject: config).write(to: configURL)
        let task = RepositoryPaths.tinyFamily.appendingPathComponent("tasks/add.jsonl")
        let result = try MetaMergeProcess.run(["eval", family.model("add").path, "--task", "add=\(task.path)"])
        #expect(result.status == 2, "\(result.stdout)")
        #expect(result.stderr.contains("rope_parameters.rope_theta"), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
    }
}

/// Messages that named no file or printed Foundation's internals.
@Suite struct AdversarialMessageTests {
    /// A config.json the forward pass refuses (max_position_embeddings 0, a string where a number belongs) said only
    /// "max_position_embeddings is 0; …" or "config.json key rms_norm_eps is string(\"1e-6\")": which model's
    /// config.json?
    @Test(arguments: [
        ("max_position_embeddings", "0", "max_position_embeddings is 0"),
        ("rms_norm_eps", "\"1e-6\"", "is the string \"1e-6\"; expected a number"),
    ])
    func forwardPassConfigErrorsNameTheFile(_ key: String, _ value: String, _ expected: String) throws {
        let family = try FamilyCopy("adv-config-\(key)", tasks: ["add"])
        let configURL = family.model("add").appendingPathComponent("config.json")
        let text = try String(contentsOf: configURL, encoding: .utf8)
        let edited = try #require(text.range(of: "\"\(key)\": [^,\n]*", options: .regularExpression))
        try Data(text.replacingCharacters(in: edited, with: "\"\(key)\": \(value)").utf8).write(to: configURL)
        let task = RepositoryPaths.tinyFamily.appendingPathComponent("tasks/add.jsonl")
        let result = try MetaMergeProcess.run(["eval", family.model("add").path, "--task", "add=\(task.path)"])
        #expect(result.status == 2, "\(result.stdout)")
        #expect(result.stderr.contains(configURL.path + ": "), "\(result.stderr)")
        #expect(result.stderr.contains(expected), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
    }

    /// A task model whose vocabulary (40 rows, config.json vocab_size 40) differs from the base's (36): `probe` said
    /// "tensor model.embed_tokens.weight is [40, 64] in task model 0 but [36, 64] in the base" — which is task 0?
    @Test func shapeErrorsOfTheForwardPassNameTheModel() throws {
        let family = try FamilyCopy("adv-vocab-40", tasks: ["add"])
        let task = family.model("add")
        let url = task.appendingPathComponent("model.safetensors")
        let bytes = try Data(contentsOf: url)
        let length = bytes.prefix(8).enumerated().reduce(0) { $0 | (Int($1.element) << (8 * $1.offset)) }
        var header = try #require(
            try JSONSerialization.jsonObject(with: bytes[8..<(8 + length)]) as? [String: Any])
        // Four zero rows appended to each 36 × 64 matrix: data offsets after them move by 4 · 64 · 4 bytes each.
        var data = Data()
        let names = header.keys.filter { $0 != "__metadata__" }.sorted {
            ((header[$0] as! [String: Any])["data_offsets"] as! [Int])[0]
                < ((header[$1] as! [String: Any])["data_offsets"] as! [Int])[0]
        }
        for name in names {
            var entry = header[name] as! [String: Any]
            let offsets = entry["data_offsets"] as! [Int]
            var chunk = bytes[(8 + length + offsets[0])..<(8 + length + offsets[1])]
            if name == "lm_head.weight" || name == "model.embed_tokens.weight" {
                chunk += Data(count: 4 * 64 * 4)
                entry["shape"] = [40, 64]
            }
            entry["data_offsets"] = [data.count, data.count + chunk.count]
            data += chunk
            header[name] = entry
        }
        let json = try JSONSerialization.data(withJSONObject: header)
        var count = UInt64(json.count).littleEndian
        try (Data(bytes: &count, count: 8) + json + data).write(to: url)
        let configURL = task.appendingPathComponent("config.json")
        let text = try String(contentsOf: configURL, encoding: .utf8)
        let edited = text.replacingOccurrences(of: "\"vocab_size\": 36", with: "\"vocab_size\": 40")
        try #require(edited != text)
        try Data(edited.utf8).write(to: configURL)
        let result = try MetaMergeProcess.run(
            ["probe"] + family.arguments + [
                "--alphas", "0,0.5,1", "-o", family.workspace.appendingPathComponent("p.h5").path,
            ])
        #expect(result.status == 2)
        #expect(
            result.stderr.contains(task.path + ": tensor model.embed_tokens.weight is [40, 64]"), "\(result.stderr)")
        #expect(!result.stderr.contains("task model 0"), "\(result.stderr)")
    }

    /// An invalid `Split` regex printed `Error Domain=NSCocoaErrorDomain Code=2048 "The value is invalid."…`.
    @Test func invalidTokenizerRegexIsDescribedInWords() throws {
        let family = try FamilyCopy("adv-regex", tasks: [])
        let url = family.model("base").appendingPathComponent("tokenizer.json")
        var json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        json["pre_tokenizer"] = [
            "type": "Split", "pattern": ["Regex": "(unclosed"], "behavior": "Isolated", "invert": false,
        ]
        try JSONSerialization.data(withJSONObject: json).write(to: url)
        let result = try MetaMergeProcess.run(["tokenize", family.model("base").path, "12+34="])
        #expect(result.status == 2)
        #expect(result.stderr.contains(url.path) && result.stderr.contains("(unclosed"), "\(result.stderr)")
        #expect(!result.stderr.contains("NSCocoaErrorDomain") && !result.stderr.contains("Error Domain"))
    }
}

/// Inputs that were read one way here and another way by the reference implementation.
@Suite struct AdversarialAmbiguityTests {
    /// A task line with "prompt" twice: Foundation's reader kept one, Python's json (which wrote the reference
    /// numbers) keeps the last — `eval` scored an item nobody wrote down.
    @Test func taskLineWithADuplicateKeyIsRefused() throws {
        let directory = try makeTemporaryDirectory("adv-task-duplicate")
        let task = directory.appendingPathComponent("t.jsonl")
        try Data(#"{"prompt": "<bos>1+1=", "prompt": "<bos>2+2=", "completion": "4<eos>"}"#.utf8).write(to: task)
        let model = RepositoryPaths.tinyFamily.appendingPathComponent("add")
        let result = try MetaMergeProcess.run(["eval", model.path, "--task", "t=\(task.path)"])
        #expect(result.status == 2, "\(result.stdout)")
        #expect(result.stderr.contains("\(task.path):1:") && result.stderr.contains("\"prompt\""), "\(result.stderr)")
    }

    /// Task names with a newline ("a\nb") were accepted: every one-line table and message split in two, and the
    /// report stored the name with its newline.
    @Test func taskNamesWithControlCharactersAreRefused() throws {
        let family = try FamilyCopy("adv-name-newline", tasks: ["add"])
        let analyze = try MetaMergeProcess.run([
            "analyze", "--base", family.model("base").path, "--model", "a\nb=\(family.model("add").path)", "-o",
            family.workspace.appendingPathComponent("r.h5").path,
        ])
        #expect(analyze.status == 2, "\(analyze.stdout)")
        #expect(analyze.stderr.contains("control character"), "\(analyze.stderr)")
        let task = RepositoryPaths.tinyFamily.appendingPathComponent("tasks/add.jsonl")
        let eval = try MetaMergeProcess.run(["eval", family.model("add").path, "--task", "x\ty=\(task.path)"])
        #expect(eval.status == 2, "\(eval.stdout)")
        #expect(eval.stderr.contains("control character"), "\(eval.stderr)")
    }

    /// A config.json with `num_hidden_layers` twice (4, then 9): the first was used here, Python's json (and so
    /// transformers) keeps the last, so `eval` scored a model transformers would not even load.
    @Test func configJSONWithADuplicateKeyIsRefused() throws {
        let family = try FamilyCopy("adv-duplicate-key", tasks: ["add"])
        let configURL = family.model("add").appendingPathComponent("config.json")
        let text = try String(contentsOf: configURL, encoding: .utf8)
        let edited = text.replacingOccurrences(
            of: "\"num_hidden_layers\": 4", with: "\"num_hidden_layers\": 4, \"num_hidden_layers\": 9")
        try #require(edited != text)
        try Data(edited.utf8).write(to: configURL)
        let task = RepositoryPaths.tinyFamily.appendingPathComponent("tasks/add.jsonl")
        for arguments in [
            ["eval", family.model("add").path, "--task", "add=\(task.path)"], ["inspect", family.model("add").path],
        ] {
            let result = try MetaMergeProcess.run(arguments)
            #expect(result.status == 2, "\(arguments[0]): \(result.stdout)")
            #expect(result.stderr.contains(configURL.path), "\(result.stderr)")
            #expect(result.stderr.contains("'num_hidden_layers' appears twice"), "\(result.stderr)")
        }
    }
}

/// Inputs a command accepted although nothing meaningful could come of them.
@Suite struct AdversarialAcceptanceTests {
    /// A model directory whose model.safetensors holds no tensor (an empty header `{}`): `inspect` printed
    /// "parameters 0" and exit 0 for a config.json that promises 4 layers.
    @Test func modelWithoutTensorsIsRefused() throws {
        let family = try FamilyCopy("adv-no-tensors", tasks: ["add"])
        let weights = family.model("add").appendingPathComponent("model.safetensors")
        try Data([2, 0, 0, 0, 0, 0, 0, 0] + Array("{}".utf8)).write(to: weights)
        let result = try MetaMergeProcess.run(["inspect", family.model("add").path])
        #expect(result.status == 2, "\(result.stdout)")
        #expect(result.stderr.contains(family.model("add").path), "\(result.stderr)")
        #expect(result.stderr.contains("model.safetensors hold(s) no tensor"), "\(result.stderr)")
    }

    /// A tensor named "model.norm\u0000x.weight" in base and task: `analyze` ran the whole pass and then failed to
    /// write the report (HDF5 strings end at NUL); the name is now refused when the header is read.
    @Test func tensorNameWithNULIsRefusedWhenTheHeaderIsRead() throws {
        let family = try FamilyCopy("adv-nul-name", tasks: ["add"])
        for name in ["base", "add"] {
            let url = family.model(name).appendingPathComponent("model.safetensors")
            var bytes = try Data(contentsOf: url)
            let length = bytes.prefix(8).enumerated().reduce(0) { $0 | (Int($1.element) << (8 * $1.offset)) }
            let header = String(decoding: bytes[8..<(8 + length)], as: UTF8.self)
            // Same length: "model.norm.weight" → "model.norm\u0000weight" would change it, so swap one byte.
            let edited = header.replacingOccurrences(of: "\"model.norm.weight\"", with: "\"model.norm\\u0000weight\"")
            let padded = Data(edited.utf8)
            try #require(padded.count == length + 5)
            var newLength = UInt64(padded.count).littleEndian
            bytes = Data(bytes: &newLength, count: 8) + padded + bytes[(8 + length)...]
            try bytes.write(to: url)
        }
        let report = family.workspace.appendingPathComponent("r.h5")
        let result = try MetaMergeProcess.run(["analyze"] + family.arguments + ["-o", report.path])
        #expect(result.status == 2)
        #expect(result.stderr.contains("NUL") && result.stderr.contains("model.safetensors"), "\(result.stderr)")
        #expect(!result.stderr.contains("analyze: done"), "the pass ran first: \(result.stderr)")
        #expect(!result.stderr.utf8.contains(0))
    }

    /// A prompt line holding NUL ran the whole probe and then failed to write the report (HDF5 strings end at
    /// NUL); it is now refused before the model runs, naming the file and the line.
    @Test func promptWithNULIsRefusedBeforeTheProbeRuns() throws {
        let family = try FamilyCopy("adv-nul-prompt", tasks: ["add"])
        let prompts = family.workspace.appendingPathComponent("prompts.txt")
        try Data(Array("12+3=\n".utf8) + [0x31, 0x00, 0x32, 0x0A]).write(to: prompts)
        let report = family.workspace.appendingPathComponent("p.h5")
        let result = try MetaMergeProcess.run(
            ["probe"] + family.arguments + ["--prompts", prompts.path, "--alphas", "0,0.5,1", "-o", report.path])
        #expect(result.status == 2)
        #expect(result.stderr.contains("\(prompts.path):2:") && result.stderr.contains("NUL"), "\(result.stderr)")
        #expect(!result.stderr.contains("probe: done"), "the probe ran first: \(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: report.path))
    }
}

/// Tokenizer.json patterns that match the empty string, against the tokenizers library (0.23.3, the ids below printed
/// by `Tokenizer.from_str(json).encode(text).ids` with the bundled base tokenizer.json and the normalizer replaced).
@Suite struct AdversarialTokenizerTests {
    static func encode(normalizer: [String: Any], text: String) throws -> MetaMergeProcess.Result {
        let family = try FamilyCopy("adv-replace-\(text.count)", tasks: [])
        let url = family.model("base").appendingPathComponent("tokenizer.json")
        var json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        json["normalizer"] = normalizer
        try JSONSerialization.data(withJSONObject: json).write(to: url)
        return try MetaMergeProcess.run(["tokenize", family.model("base").path, text])
    }

    /// `Replace {"String": ""} → "xx"` inserts "xx" before every character and at the end (each "xx" is <unk>,
    /// id 3, for the character-level vocabulary); it was ignored here.
    @Test func replaceOfTheEmptyStringInsertsEverywhere() throws {
        let result = try Self.encode(
            normalizer: ["type": "Replace", "pattern": ["String": ""], "content": "xx"], text: "12+34=")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("\"ids\": [3, 3, 5, 3, 3, 6, 3, 3, 30, 3, 3, 7, 3, 3, 8, 3, 3, 31, 3, 3]"),
            "\(result.stdout)")
    }

    /// `Replace {"Regex": "z*"} → "+"` on "1zz2": "+1+2+" (the empty matches at the start and the end count, the
    /// one right after "zz" does not); empty matches were dropped here, giving "1+2".
    @Test func replaceOfARegexThatMatchesEmptyKeepsItsEmptyMatches() throws {
        let result = try Self.encode(
            normalizer: ["type": "Replace", "pattern": ["Regex": "z*"], "content": "+"], text: "1zz2")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("\"ids\": [30, 5, 30, 6, 30]"), "\(result.stdout)")
    }
}

/// config.json sizes that contradict the stored projections: `inspect` said nothing and `analyze`/`merge` went on,
/// while transformers cannot load such a checkpoint (and `eval` refused it only when it ran the model).
@Suite struct AdversarialConfigShapeTests {
    @Test(arguments: [
        ("intermediate_size", "176", "100", "model.layers.0.mlp.gate_proj.weight", "has 176 rows", "= 100"),
        ("num_key_value_heads", "2", "4", "model.layers.0.self_attn.k_proj.weight", "has 32 rows", "= 64"),
    ])
    func inspectNamesASizeTheTensorsContradict(
        _ key: String, _ old: String, _ new: String, _ tensor: String, _ detail: String, _ size: String
    ) throws {
        let family = try FamilyCopy("adv-shape-\(key)", tasks: ["add"])
        let configURL = family.model("add").appendingPathComponent("config.json")
        let text = try String(contentsOf: configURL, encoding: .utf8)
        let edited = text.replacingOccurrences(of: "\"\(key)\": \(old)", with: "\"\(key)\": \(new)")
        try #require(edited != text)
        try Data(edited.utf8).write(to: configURL)
        let result = try MetaMergeProcess.run(["inspect", family.model("add").path])
        #expect(result.status == 2, "\(result.stdout)")
        #expect(result.stderr.contains(configURL.path) && result.stderr.contains(tensor), "\(result.stderr)")
        #expect(result.stderr.contains(detail) && result.stderr.contains(size), "\(result.stderr)")
    }
}

/// Sizes and files that were skipped or named nothing.
@Suite struct AdversarialSizeTests {
    /// vocab_size 2^62 is no count a reader takes (`inspect` showed "vocab ?" and exit 0; `analyze` went on).
    @Test func vocabularySizeThatIsNotACountIsNamed() throws {
        let family = try FamilyCopy("adv-vocab-huge", tasks: ["add"])
        let configURL = family.model("add").appendingPathComponent("config.json")
        let text = try String(contentsOf: configURL, encoding: .utf8)
        let edited = text.replacingOccurrences(of: "\"vocab_size\": 36", with: "\"vocab_size\": 4611686018427387904")
        try #require(edited != text)
        try Data(edited.utf8).write(to: configURL)
        for arguments in [
            ["inspect", family.model("add").path],
            ["analyze"] + family.arguments + ["-o", family.workspace.appendingPathComponent("r.h5").path],
        ] {
            let result = try MetaMergeProcess.run(arguments)
            #expect(result.status == 2, "\(arguments[0]): \(result.stdout)")
            #expect(
                result.stderr.contains(configURL.path) && result.stderr.contains("'vocab_size'"), "\(result.stderr)")
        }
    }

    /// An empty prompt file said "no prompts given" — which file?
    @Test func emptyPromptFileIsNamed() throws {
        let family = try FamilyCopy("adv-empty-prompts", tasks: ["add"])
        let prompts = family.workspace.appendingPathComponent("prompts.txt")
        try Data().write(to: prompts)
        let result = try MetaMergeProcess.run(
            ["probe"] + family.arguments + [
                "--prompts", prompts.path, "--alphas", "0,0.5,1", "-o",
                family.workspace.appendingPathComponent("p.h5").path,
            ])
        #expect(result.status == 2)
        #expect(result.stderr.contains(prompts.path), "\(result.stderr)")
    }
}

/// Method parameters at the edge of their documented ranges.
@Suite struct AdversarialMethodTests {
    /// karcher with `tol: 0` (allowed: [0, 0.1]): once the iteration converged exactly, θ = 0 gave θ/sin θ = 0/0
    /// and ‖T‖ = 0 gave T/‖T‖ = 0/0, so the merge stopped with "NaN … nothing was written". An exact 0 now means
    /// converged; the output is written and finite.
    @Test func karcherWithZeroToleranceConverges() throws {
        let family = try FamilyCopy("adv-karcher-tol0")
        let config = try family.config("karcher", extra: "parameters: {max_iter: 100, tol: 0}\n")
        let out = family.workspace.appendingPathComponent("merged")
        let result = try MetaMergeProcess.run(["merge", config.path, out.path, "--quiet"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("model.safetensors").path))
    }
}
