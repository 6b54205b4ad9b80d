import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A copy of the bundled family in a fresh temporary directory, so a test may damage it; and the command-line
/// arguments naming it.
struct FamilyCopy {
    let root: URL
    let tasks: [String]

    init(_ label: String, tasks: [String] = ["add", "rev", "sort"]) throws {
        root = try makeTemporaryDirectory(label).appendingPathComponent("family")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        for name in ["base"] + tasks {
            try FileManager.default.copyItem(
                at: RepositoryPaths.tinyFamily.appendingPathComponent(name), to: root.appendingPathComponent(name))
        }
        self.tasks = tasks
    }

    var workspace: URL { root.deletingLastPathComponent() }
    func model(_ name: String) -> URL { root.appendingPathComponent(name) }

    var arguments: [String] {
        ["--base", model("base").path] + tasks.flatMap { ["--model", "\($0)=\(model($0).path)"] }
    }

    /// A MergeKit config for `method` over the task models (weight 0.5 each), written beside the family.
    func config(_ method: String = "task_arithmetic", name: String = "merge.yml", extra: String = "") throws -> URL {
        let models = tasks.map { "  - model: \(model($0).path)\n    parameters: {weight: 0.5}" }.joined(separator: "\n")
        let text =
            "merge_method: \(method)\nbase_model: \(model("base").path)\nmodels:\n\(models)\ndtype: float32\n\(extra)"
        let url = workspace.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url
    }

    /// Every file under `url` with its bytes: a snapshot to compare before and after a command.
    static func snapshot(_ url: URL) throws -> [String: Data] {
        var result: [String: Data] = [:]
        let enumerator = FileManager.default.enumerator(atPath: url.path)
        while let path = enumerator?.nextObject() as? String {
            let file = url.appendingPathComponent(path)
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: file.path, isDirectory: &isDirectory), !isDirectory.boolValue {
                result[path] = try Data(contentsOf: file)
            }
        }
        return result
    }

    /// Names under `directory` that look like temporaries (`.NAME.partial-…`).
    static func partials(in directory: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).filter {
            $0.contains(".partial-")
        }
    }
}

@Suite("Trust: an output never destroys what metamerge did not write")
struct OutputSafetyTests {
    @Test func analyzeAndProbeRefuseDestructiveOutputs() throws {
        let family = try FamilyCopy("trust-o", tasks: ["add", "rev"])
        let before = try FamilyCopy.snapshot(family.root)
        let userDirectory = family.workspace.appendingPathComponent("results")
        try FileManager.default.createDirectory(at: userDirectory, withIntermediateDirectories: true)
        try Data("mine".utf8).write(to: userDirectory.appendingPathComponent("notes.txt"))
        let textFile = family.workspace.appendingPathComponent("notes.txt")
        try Data("not a report".utf8).write(to: textFile)

        for command in ["analyze", "probe"] {
            let extra = command == "probe" ? ["--alphas", "0,1", "--scales", "1", "--random-prompts", "1"] : []
            for output in [
                userDirectory.path, "", family.model("base").appendingPathComponent("model.safetensors").path,
                family.model("add").path, family.root.path, family.workspace.path, textFile.path,
            ] {
                let result = try MetaMergeProcess.run([command] + family.arguments + extra + ["-o", output])
                #expect(result.status == 2, "\(command) -o '\(output)' must be refused: \(result.stderr)")
                #expect(!result.stderr.isEmpty)
            }
        }
        #expect(try FamilyCopy.snapshot(family.root) == before)
        #expect(try Data(contentsOf: userDirectory.appendingPathComponent("notes.txt")) == Data("mine".utf8))
        #expect(try Data(contentsOf: textFile) == Data("not a report".utf8))

        // An existing report is replaced (atomically), and a probe is added to it.
        let report = family.workspace.appendingPathComponent("report.h5")
        #expect(try MetaMergeProcess.run(["analyze"] + family.arguments + ["-o", report.path]).status == 0)
        let again = try MetaMergeProcess.run(["analyze"] + family.arguments + ["-o", report.path])
        #expect(again.status == 0, "\(again.stderr)")
        let probe = try MetaMergeProcess.run(
            ["probe"] + family.arguments + [
                "--alphas", "0,1", "--scales", "1", "--random-prompts", "1", "-o", report.path,
            ])
        #expect(probe.status == 0, "\(probe.stderr)")
        #expect(FamilyCopy.partials(in: family.workspace).isEmpty)
    }

    @Test func mergeOverwriteNeverTouchesInputsOrForeignDirectories() throws {
        let family = try FamilyCopy("trust-merge", tasks: ["add", "rev"])
        let config = try family.config()
        let before = try FamilyCopy.snapshot(family.root)
        let foreign = family.workspace.appendingPathComponent("foreign")
        try FileManager.default.createDirectory(at: foreign, withIntermediateDirectories: true)
        try Data("keep".utf8).write(to: foreign.appendingPathComponent("keep.txt"))

        for output in [
            family.model("add").path, family.root.path, family.model("add").appendingPathComponent("sub").path,
            family.workspace.path, config.path, foreign.path, "",
        ] {
            let result = try MetaMergeProcess.run(["merge", config.path, output, "--overwrite"])
            #expect(result.status == 2, "merge into '\(output)' must be refused: \(result.stdout) \(result.stderr)")
        }
        #expect(try FamilyCopy.snapshot(family.root) == before)
        #expect(try Data(contentsOf: foreign.appendingPathComponent("keep.txt")) == Data("keep".utf8))

        let out = family.workspace.appendingPathComponent("merged")
        let first = try MetaMergeProcess.run(["merge", config.path, out.path, "--quiet"])
        #expect(first.status == 0, "\(first.stderr)")
        let exists = try MetaMergeProcess.run(["merge", config.path, out.path, "--quiet"])
        #expect(exists.status == 2 && exists.stderr.contains("already exists"))
        let replaced = try MetaMergeProcess.run(["merge", config.path, out.path, "--overwrite", "--quiet"])
        #expect(replaced.status == 0, "\(replaced.stderr)")
        #expect(replaced.stdout.contains("replacing the earlier merge"))
        #expect(try MetaMergeProcess.run(["inspect", out.path]).status == 0)
        #expect(FamilyCopy.partials(in: family.workspace).isEmpty)
    }

    @Test func demoRefusesANonEmptyDirectoryItDidNotMake() throws {
        let directory = try makeTemporaryDirectory("trust-demo")
        try Data("mine".utf8).write(to: directory.appendingPathComponent("thesis.tex"))
        let result = try MetaMergeProcess.run(["demo", directory.path])
        #expect(result.status == 2)
        #expect(result.stderr.contains("did not make"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["thesis.tex"])
    }

    @Test func staleTemporariesOfDeadProcessesAreRemovedAndNamed() throws {
        let family = try FamilyCopy("trust-stale", tasks: ["add"])
        let config = try family.config()
        let out = family.workspace.appendingPathComponent("merged")
        // A process id that cannot be running: above the kernel's pid_max.
        let stale = family.workspace.appendingPathComponent(".merged.partial-2147483000-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: stale, withIntermediateDirectories: true)
        // The marker metamerge writes into every temporary (only a marked one is removed).
        try Data("metamerge temporary output \(stale.lastPathComponent): removed when its process has ended\n".utf8)
            .write(to: stale.appendingPathComponent(".metamerge-partial"))
        let foreign = family.workspace.appendingPathComponent(".merged.partial-someone-else")
        try FileManager.default.createDirectory(at: foreign, withIntermediateDirectories: true)
        let result = try MetaMergeProcess.run(["merge", config.path, out.path, "--quiet"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("removed \(stale.path)"))
        #expect(result.stderr.contains(foreign.path))
        #expect(!FileManager.default.fileExists(atPath: stale.path))
        #expect(FileManager.default.fileExists(atPath: foreign.path))
    }

    /// SIGINT / SIGTERM at several moments of a merge and an analysis: the temporary is removed, and the output is
    /// either absent or complete. SIGKILL leaves the temporary, which the next run removes.
    @Test(arguments: [SIGINT, SIGTERM, SIGKILL])
    func signalsLeaveNothingBehind(signal number: Int32) throws {
        let family = try FamilyCopy("trust-signal", tasks: ["add", "rev", "sort"])
        let config = try family.config()
        for (index, delay) in [0.0, 0.05, 0.15, 0.3, 0.6].enumerated() {
            let out = family.workspace.appendingPathComponent("merged-\(index)")
            let report = family.workspace.appendingPathComponent("report-\(index).h5")
            for arguments in [
                ["merge", config.path, out.path, "--quiet"], ["analyze"] + family.arguments + ["-o", report.path],
            ] {
                let process = Process()
                process.executableURL = MetaMergeProcess.executable
                process.arguments = arguments
                process.standardOutput = FileHandle.nullDevice
                process.standardError = FileHandle.nullDevice
                try process.run()
                Thread.sleep(forTimeInterval: delay)
                kill(process.processIdentifier, number)
                process.waitUntilExit()
                if number != SIGKILL {
                    #expect(
                        FamilyCopy.partials(in: family.workspace).isEmpty,
                        "after signal \(number) at \(delay) s: \(arguments[0])")
                }
            }
            if FileManager.default.fileExists(atPath: out.path) {
                #expect(try MetaMergeProcess.run(["inspect", out.path]).status == 0)
            }
        }
        // Killing a merge --overwrite at any moment leaves the earlier or the new model, complete, under its name.
        let replaced = family.workspace.appendingPathComponent("replaced")
        #expect(try MetaMergeProcess.run(["merge", config.path, replaced.path, "--quiet"]).status == 0)
        for delay in [0.0, 0.05, 0.15, 0.3, 0.6] {
            let process = Process()
            process.executableURL = MetaMergeProcess.executable
            process.arguments = ["merge", config.path, replaced.path, "--quiet", "--overwrite"]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            Thread.sleep(forTimeInterval: delay)
            kill(process.processIdentifier, number)
            process.waitUntilExit()
            #expect(
                try MetaMergeProcess.run(["inspect", replaced.path]).status == 0, "after signal \(number) at \(delay) s"
            )
        }
        // The next run cleans what a SIGKILL left.
        let final = family.workspace.appendingPathComponent("merged-final")
        for index in 0..<5 {
            _ = try MetaMergeProcess.run([
                "merge", config.path, family.workspace.appendingPathComponent("merged-\(index)").path, "--overwrite",
                "--quiet",
            ])
            _ = try MetaMergeProcess.run(
                ["analyze"] + family.arguments + [
                    "-o", family.workspace.appendingPathComponent("report-\(index).h5").path,
                ])
        }
        #expect(try MetaMergeProcess.run(["merge", config.path, final.path, "--quiet"]).status == 0)
        #expect(
            try MetaMergeProcess.run(["merge", config.path, replaced.path, "--quiet", "--overwrite"]).status == 0)
        #expect(FamilyCopy.partials(in: family.workspace).isEmpty)
    }

    @Test func concurrentMergesIntoOneOutputOneWinsTheOtherSaysSo() throws {
        let family = try FamilyCopy("trust-race", tasks: ["add", "rev"])
        let config = try family.config()
        let out = family.workspace.appendingPathComponent("merged")
        let processes = (0..<2).map { _ in
            let process = Process()
            process.executableURL = MetaMergeProcess.executable
            process.arguments = ["merge", config.path, out.path, "--quiet"]
            return process
        }
        let pipes = processes.map { process in
            let pipe = Pipe()
            process.standardError = pipe
            process.standardOutput = FileHandle.nullDevice
            return pipe
        }
        for process in processes { try process.run() }
        let messages = pipes.map { String(decoding: $0.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self) }
        for process in processes { process.waitUntilExit() }
        let statuses = processes.map(\.terminationStatus).sorted()
        #expect(statuses == [0, 2], "\(messages)")
        let loser = zip(processes, messages).first { $0.0.terminationStatus == 2 }?.1 ?? ""
        #expect(loser.contains("already exists") || loser.contains("created by another process"))
        #expect(try MetaMergeProcess.run(["inspect", out.path]).status == 0)
        #expect(FamilyCopy.partials(in: family.workspace).isEmpty)
    }

    /// A full disk (a 16 KiB tmpfs; reported as skipped where mounting is not permitted): exit 2 naming the file,
    /// nothing left.
    @Test(.enabled(if: Tmpfs.canMount, "mounting a tmpfs is not permitted here (not root?)"))
    func fullDiskIsOneErrorAndLeavesNothing() throws {
        let family = try FamilyCopy("trust-disk", tasks: ["add", "rev"])
        let mountPoint = family.workspace.appendingPathComponent("small")
        try FileManager.default.createDirectory(at: mountPoint, withIntermediateDirectories: true)
        try #require(try Tmpfs.mount(at: mountPoint, bytes: 16 * 1024), "mounting a tmpfs at \(mountPoint.path)")
        defer { Tmpfs.unmount(mountPoint) }
        let report = mountPoint.appendingPathComponent("report.h5")
        let analyze = try MetaMergeProcess.run(["analyze"] + family.arguments + ["-o", report.path])
        #expect(analyze.status == 2)
        #expect(analyze.stderr.contains("report.h5"))
        let merge = try MetaMergeProcess.run([
            "merge", try family.config().path, mountPoint.appendingPathComponent("out").path, "--quiet",
        ])
        #expect(merge.status == 2)
        #expect(merge.stderr.contains("No space left") || merge.stderr.contains("space"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: mountPoint.path).isEmpty)
    }

    @Test func usageErrorsExitTwo() throws {
        let family = try FamilyCopy("trust-usage", tasks: ["add"])
        let config = try family.config()
        for arguments in [
            ["analyze"] + family.arguments,
            ["analyze"] + family.arguments + ["-o", "/tmp/x.h5", "--threads", "0"],
            ["analyze"] + family.arguments + ["-o", "/tmp/x.h5", "--threads", "5000"],
            ["merge", config.path, family.workspace.appendingPathComponent("o").path, "--threads", "5000"],
            ["check"], ["inspect", "--no-such-flag", family.model("base").path], ["no-such-command"],
        ] {
            let result = try MetaMergeProcess.run(arguments)
            #expect(result.status == 2, "\(arguments): \(result.stderr)")
        }
    }
}

@Suite("Trust: every numeric knob is validated before any output exists")
struct NumericKnobTests {
    /// Through the binary, each a one-line error (exit 2) naming the key, and no output: NaN densities and top-k
    /// (which once crashed with SIGILL), NaN weights and lambda, weights summing to zero with normalize, negative t.
    @Test(arguments: [
        ("ties", "{weight: 1, density: .nan}", "density"),
        ("breadcrumbs", "{weight: 1, density: .nan}", "density"),
        ("metagpt_ties", "{density: .nan}", "density"),
        ("sce", "{select_topk: .nan}", "select_topk"),
        ("task_arithmetic", "{weight: .nan}", "weight"),
        ("task_arithmetic", "{weight: 1, lambda: .nan}", "lambda"),
        ("linear", "{weight: .inf}", "weight"),
    ])
    func nonFiniteParametersAreRefused(method: String, parameters: String, key: String) throws {
        let family = try FamilyCopy("trust-knob", tasks: ["add", "rev"])
        let models = family.tasks.map { "  - model: \(family.model($0).path)\n    parameters: \(parameters)" }.joined(
            separator: "\n")
        let config = family.workspace.appendingPathComponent("c.yml")
        try Data("merge_method: \(method)\nbase_model: \(family.model("base").path)\nmodels:\n\(models)\n".utf8).write(
            to: config)
        let out = family.workspace.appendingPathComponent("out")
        let result = try MetaMergeProcess.run(["merge", config.path, out.path, "--quiet"])
        #expect(result.status == 2, "\(method) \(parameters): \(result.stderr)")
        #expect(result.stderr.contains(key))
        #expect(result.stderr.split(separator: "\n").count == 1)
        #expect(!FileManager.default.fileExists(atPath: out.path))
    }

    @Test func weightsSummingToZeroWithNormalizeAreRefused() throws {
        let family = try FamilyCopy("trust-zero-sum", tasks: ["add", "rev"])
        let config = family.workspace.appendingPathComponent("c.yml")
        try Data(
            """
            merge_method: linear
            models:
              - model: \(family.model("add").path)
                parameters: {weight: 1}
              - model: \(family.model("rev").path)
                parameters: {weight: -1}
            parameters: {normalize: true}

            """.utf8
        ).write(to: config)
        let result = try MetaMergeProcess.run([
            "merge", config.path, family.workspace.appendingPathComponent("out").path,
        ])
        #expect(result.status == 2, "\(result.stderr)")
    }

    @Test(arguments: [
        ["--alphas", "0:1:1e-9"], ["--alphas", "0,nan,1"], ["--scales", "inf"], ["--alphas", "1:0:0.1"],
        ["--random-prompts=-1"], ["--prompt-length", "0"],
    ])
    func probeGridsAndPromptCountsAreBounded(arguments: [String]) throws {
        let family = try FamilyCopy("trust-grid", tasks: ["add"])
        let output = family.workspace.appendingPathComponent("p.h5")
        let result = try MetaMergeProcess.run(["probe"] + family.arguments + arguments + ["-o", output.path])
        #expect(result.status == 2, "\(arguments): \(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: output.path))
    }

    @Test func tokenIDFilesWithCRLFAreRead() throws {
        let family = try FamilyCopy("trust-crlf", tasks: ["add"])
        let ids = family.workspace.appendingPathComponent("ids.txt")
        try Data("1 14 15 16\r\n1 4 5 30\r\n".utf8).write(to: ids)
        let result = try MetaMergeProcess.run(
            ["probe"] + family.arguments + [
                "--token-ids", ids.path, "--alphas", "0,1", "--scales", "1", "-o",
                family.workspace.appendingPathComponent("p.h5").path,
            ])
        #expect(result.status == 0, "\(result.stderr)")
    }

    /// Errors Foundation raises reach the user as one line naming the path, never an `NSCocoaErrorDomain` dump.
    @Test func systemErrorsAreOneReadableLine() throws {
        let family = try FamilyCopy("trust-cocoa", tasks: ["add"])
        let unreadable = family.workspace.appendingPathComponent("missing-dir/report.h5")
        let config = family.workspace.appendingPathComponent("absent.yml")
        for arguments in [
            ["analyze"] + family.arguments + ["-o", unreadable.path], ["merge", config.path, "out"],
            ["check", family.workspace.appendingPathComponent("absent.h5").path, "--max-cosine", "0.1"],
            ["inspect", family.workspace.appendingPathComponent("nothing").path],
        ] {
            let result = try MetaMergeProcess.run(arguments, in: family.workspace)
            #expect(result.status == 2)
            #expect(
                !result.stderr.contains("NSCocoaErrorDomain") && !result.stderr.contains("Error Domain="),
                "\(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
        }
    }
}

@Suite("Trust: checkpoints are validated; inspect reads single files and lists every problem")
struct CheckpointValidationCLITests {
    @Test func inspectAcceptsASafetensorsFile() throws {
        let file = RepositoryPaths.tinyFamily.appendingPathComponent("base/model.safetensors")
        let result = try MetaMergeProcess.run(["inspect", file.path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("model.embed_tokens.weight") || result.stdout.contains("parameters"))
    }

    @Test func brokenCheckpointsAreRefusedByInspectAndAnalyze() throws {
        let family = try FamilyCopy("trust-broken", tasks: ["add"])
        let add = family.model("add")
        // config.json disagreeing with the tensors, and a quantization_config.
        let configURL = add.appendingPathComponent("config.json")
        var config = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: configURL)) as? [String: Any])
        config["vocab_size"] = 99
        config["quantization_config"] = ["quant_method": "gptq", "bits": 4]
        try JSONSerialization.data(withJSONObject: config).write(to: configURL)
        let inspect = try MetaMergeProcess.run(["inspect", add.path])
        #expect(inspect.status == 2)
        #expect(inspect.stderr.contains("GPTQ-quantized checkpoints are not supported"))
        #expect(inspect.stderr.contains("vocab_size = 99"))
        let analyze = try MetaMergeProcess.run(
            ["analyze"] + family.arguments + ["-o", family.workspace.appendingPathComponent("r.h5").path])
        #expect(analyze.status == 2)
        #expect(analyze.stderr.split(separator: "\n").filter { $0.hasPrefix("metamerge:") }.count == 1)
    }

    @Test func indexNamingAMissingShardIsRefused() throws {
        let family = try FamilyCopy("trust-index", tasks: ["add"])
        let add = family.model("add")
        try FileManager.default.moveItem(
            at: add.appendingPathComponent("model.safetensors"),
            to: add.appendingPathComponent("model-00001-of-00002.safetensors"))
        let header = try #require(try TinyHeader(add.appendingPathComponent("model-00001-of-00002.safetensors")))
        var weightMap = Dictionary(uniqueKeysWithValues: header.names.map { ($0, "model-00001-of-00002.safetensors") })
        weightMap["lm_head.weight"] = "model-00002-of-00002.safetensors"
        try JSONSerialization.data(withJSONObject: ["metadata": ["total_size": 0], "weight_map": weightMap])
            .write(to: add.appendingPathComponent("model.safetensors.index.json"))
        for arguments in [
            ["inspect", add.path],
            ["analyze"] + family.arguments + ["-o", family.workspace.appendingPathComponent("r.h5").path],
        ] {
            let result = try MetaMergeProcess.run(arguments)
            #expect(result.status == 2)
            #expect(result.stderr.contains("model-00002-of-00002.safetensors"))
        }
    }
}

@Suite("Trust: the gate never passes on undefined numbers")
struct GateTrustTests {
    @Test(arguments: ["nan", "-1", "inf", "-inf"])
    func thresholdsMustBeFiniteAndNonNegative(value: String) throws {
        let family = try FamilyCopy("trust-threshold", tasks: ["add", "rev"])
        let report = family.workspace.appendingPathComponent("r.h5").path
        #expect(try MetaMergeProcess.run(["analyze"] + family.arguments + ["-o", report]).status == 0)
        let check = try MetaMergeProcess.run(["check", report, "--max-cosine=\(value)"])
        #expect(check.status == 2, "\(check.stdout) \(check.stderr)")
        let merge = try MetaMergeProcess.run(
            [
                "merge", try family.config().path, family.workspace.appendingPathComponent("o").path, "--gate",
                "max-cosine=\(value)",
            ])
        #expect(merge.status == 2)
    }

    @Test func aZeroTaskVectorFailsEveryScopeAndItsLinearityIsUndefined() throws {
        let family = try FamilyCopy("trust-zero", tasks: ["add"])
        try FileManager.default.copyItem(at: family.model("base"), to: family.model("same"))
        let arguments = family.arguments + ["--model", "same=\(family.model("same").path)"]
        let report = family.workspace.appendingPathComponent("r.h5").path
        #expect(try MetaMergeProcess.run(["analyze"] + arguments + ["-o", report]).status == 0)
        for scope in ["global", "layer", "tensor"] {
            let check = try MetaMergeProcess.run(["check", report, "--max-cosine", "0.99", "--scope", scope])
            #expect(check.status == 1, "scope \(scope): \(check.stdout)")
            #expect(check.stdout.contains("zero task vector"))
        }
        #expect(
            try MetaMergeProcess.run(
                ["probe"] + arguments + ["--alphas", "0,0.5,1", "--scales", "1", "--random-prompts", "2", "-o", report]
            ).status == 0)
        let linearity = try MetaMergeProcess.run(["check", report, report, "--max-chord-residual", "1000"])
        #expect(linearity.status == 1, "\(linearity.stdout)")
        #expect(linearity.stdout.contains("undefined"))
    }

    @Test func aProbeOfOtherModelsIsRefused() throws {
        let family = try FamilyCopy("trust-other", tasks: ["add", "rev"])
        let stats = family.workspace.appendingPathComponent("stats.h5").path
        let probe = family.workspace.appendingPathComponent("probe.h5").path
        #expect(try MetaMergeProcess.run(["analyze"] + family.arguments + ["-o", stats]).status == 0)
        let other = ["--base", family.model("base").path, "--model", "add=\(family.model("add").path)"]
        #expect(
            try MetaMergeProcess.run(
                ["probe"] + other + ["--alphas", "0,1", "--scales", "1", "--random-prompts", "1", "-o", probe]
            ).status == 0)
        let check = try MetaMergeProcess.run(["check", stats, probe, "--max-chord-residual", "10"])
        #expect(check.status == 2)
        #expect(check.stderr.contains("other models") || check.stderr.contains("describe"))
    }

    @Test func nonFiniteWeightsFailTheGateAndStopTheMerge() throws {
        let family = try FamilyCopy("trust-nan", tasks: ["add", "rev"])
        let weights = family.model("add").appendingPathComponent("model.safetensors")
        let header = try #require(try TinyHeader(weights))
        var bytes = try Data(contentsOf: weights)
        let nan = Float.nan.bitPattern.littleEndian
        withUnsafeBytes(of: nan) { bytes.replaceSubrange((header.dataStart + 4)..<(header.dataStart + 8), with: $0) }
        try bytes.write(to: weights)
        let report = family.workspace.appendingPathComponent("r.h5").path
        #expect(try MetaMergeProcess.run(["analyze"] + family.arguments + ["-o", report]).status == 0)
        let check = try MetaMergeProcess.run(["check", report, "--max-cosine", "0.99"])
        #expect(check.status == 1)
        #expect(check.stdout.contains("non-finite"))
        let config = try family.config()
        let merge = try MetaMergeProcess.run([
            "merge", config.path, family.workspace.appendingPathComponent("o").path, "--quiet",
        ])
        #expect(merge.status == 2)
        #expect(merge.stderr.contains(header.names[0]) && merge.stderr.contains("--allow-non-finite"))
        let forced = try MetaMergeProcess.run(
            ["merge", config.path, family.workspace.appendingPathComponent("o").path, "--quiet", "--allow-non-finite"])
        #expect(forced.status == 0, "\(forced.stderr)")
    }

    @Test func statisticsOfEditedWeightsAreRefused() throws {
        let family = try FamilyCopy("trust-stale-stats", tasks: ["add", "rev"])
        let report = family.workspace.appendingPathComponent("r.h5").path
        #expect(try MetaMergeProcess.run(["analyze"] + family.arguments + ["-o", report]).status == 0)
        // Edit one weight in place, between the fingerprint's samples, keeping the size.
        let weights = family.model("rev").appendingPathComponent("model.safetensors")
        let handle = try FileHandle(forUpdating: weights)
        let header = try #require(try TinyHeader(weights))
        try handle.seek(toOffset: UInt64(header.dataStart + 70_000))
        try handle.write(contentsOf: Data([0x3F, 0x80, 0, 0]))
        try handle.close()
        let merge = try MetaMergeProcess.run(
            [
                "merge", try family.config("metagpt").path, family.workspace.appendingPathComponent("o").path,
                "--stats", report,
            ])
        #expect(merge.status == 2, "\(merge.stderr)")
        #expect(merge.stderr.contains("analyze"))
    }
}

/// The tensor names and data offset of a safetensors file, read directly (tests only).
struct TinyHeader {
    let names: [String]
    let dataStart: Int

    init?(_ url: URL) throws {
        let data = try Data(contentsOf: url)
        let length = data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }.littleEndian
        guard
            let object = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + Int(length))))
                as? [String: Any]
        else { return nil }
        names = object.keys.filter { $0 != "__metadata__" }.sorted {
            ((object[$0] as? [String: Any])?["data_offsets"] as? [Int])?.first ?? 0
                < ((object[$1] as? [String: Any])?["data_offsets"] as? [Int])?.first ?? 0
        }
        dataStart = 8 + Int(length)
    }
}
