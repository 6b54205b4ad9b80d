import Foundation
import TestSupport
import Testing

/// Issue 17, items 5–7: `--overwrite` and stale-partial cleanup remove only what metamerge wrote, and SIGINT /
/// SIGTERM end every long command within a second with exit status 130 / 143, leaving no temporary behind.
@Suite("Trust: overwrite manifests, marked partials, signals")
struct TrustOutputSignalTests {
    // MARK: merge --overwrite (item 5)

    /// A user's model whose model card has front matter and a "- metamerge" line (what the old rule accepted) is
    /// not replaced: it has no manifest of what metamerge wrote.
    @Test func overwriteRefusesAUserModelWhoseCardMentionsMetamerge() throws {
        let family = try FamilyCopy("t17-card", tasks: ["add", "rev"])
        let config = try family.config()
        let mine = family.workspace.appendingPathComponent("my-model")
        try FileManager.default.copyItem(at: family.model("add"), to: mine)
        try Data("---\ntags:\n- merge\n- metamerge\n---\n# my own fine-tune, merged by hand\n".utf8)
            .write(to: mine.appendingPathComponent("README.md"))
        let before = try FamilyCopy.snapshot(mine)

        let result = try MetaMergeProcess.run(["merge", config.path, mine.path, "--overwrite", "--quiet"])
        #expect(result.status == 2, "\(result.stdout) \(result.stderr)")
        #expect(result.stderr.contains(mine.path) && result.stderr.contains(".metamerge-manifest.json"))
        #expect(result.stderr.split(separator: "\n").count == 1)
        #expect(try FamilyCopy.snapshot(mine) == before)
        #expect(FamilyCopy.partials(in: family.workspace).isEmpty)
    }

    /// An earlier merge output is replaced only while unchanged: an added file, a file changed in place (same
    /// size: only the hash tells) and a missing manifest (an older version's output) are refused, naming what
    /// differs; the unchanged output is replaced.
    @Test func overwriteReplacesOnlyAnUnchangedEarlierOutput() throws {
        let family = try FamilyCopy("t17-manifest", tasks: ["add", "rev"])
        let config = try family.config()
        let out = family.workspace.appendingPathComponent("merged")
        let first = try MetaMergeProcess.run(["merge", config.path, out.path, "--quiet"])
        #expect(first.status == 0, "\(first.stderr)")
        let manifest = out.appendingPathComponent(".metamerge-manifest.json")
        #expect(FileManager.default.fileExists(atPath: manifest.path))

        // A file the user added to the output.
        let notes = out.appendingPathComponent("notes.txt")
        try Data("my evaluation notes".utf8).write(to: notes)
        let added = try MetaMergeProcess.run(["merge", config.path, out.path, "--overwrite", "--quiet"])
        #expect(added.status == 2)
        #expect(added.stderr.contains(notes.path), "\(added.stderr)")
        #expect(try Data(contentsOf: notes) == Data("my evaluation notes".utf8))
        try FileManager.default.removeItem(at: notes)

        // The model card edited in place, same size.
        let card = out.appendingPathComponent("README.md")
        let original = try Data(contentsOf: card)
        var edited = original
        edited[edited.count - 2] = edited[edited.count - 2] == 0x41 ? 0x42 : 0x41
        try edited.write(to: card)
        let changed = try MetaMergeProcess.run(["merge", config.path, out.path, "--overwrite", "--quiet"])
        #expect(changed.status == 2)
        #expect(changed.stderr.contains(card.path) && changed.stderr.contains("hash differs"), "\(changed.stderr)")
        #expect(try Data(contentsOf: card) == edited)
        try original.write(to: card)

        // Unchanged: replaced.
        let replaced = try MetaMergeProcess.run(["merge", config.path, out.path, "--overwrite", "--quiet"])
        #expect(replaced.status == 0, "\(replaced.stderr)")
        #expect(replaced.stdout.contains("replacing the earlier merge"))

        // An output without a manifest (written before manifests existed) is refused.
        try FileManager.default.removeItem(at: manifest)
        let before = try FamilyCopy.snapshot(out)
        let old = try MetaMergeProcess.run(["merge", config.path, out.path, "--overwrite", "--quiet"])
        #expect(old.status == 2)
        #expect(old.stderr.contains("has no .metamerge-manifest.json"), "\(old.stderr)")
        #expect(try FamilyCopy.snapshot(out) == before)
        #expect(FamilyCopy.partials(in: family.workspace).isEmpty)
    }

    /// The manifest lists every file but itself with its size and a 16-hex-digit XXH64 (the hash itself is checked
    /// against the xxhash package in XXH64Tests).
    @Test func manifestListsEveryFileWithSizeAndHash() throws {
        let family = try FamilyCopy("t17-list", tasks: ["add"])
        let config = try family.config()
        let out = family.workspace.appendingPathComponent("merged")
        #expect(try MetaMergeProcess.run(["merge", config.path, out.path, "--quiet"]).status == 0)
        let object =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: out.appendingPathComponent(".metamerge-manifest.json"))) as? [String: Any]
        #expect(object?["format"] as? String == "metamerge-output")
        let files = (object?["files"] as? [[String: Any]]) ?? []
        let names = Set(try FileManager.default.contentsOfDirectory(atPath: out.path))
        #expect(Set(files.compactMap { $0["name"] as? String }) == names.subtracting([".metamerge-manifest.json"]))
        for file in files {
            let name = file["name"] as? String ?? ""
            let size = try FileManager.default.attributesOfItem(atPath: out.appendingPathComponent(name).path)[.size]
            #expect((size as? NSNumber)?.intValue == file["size"] as? Int, "\(name)")
            let hash = file["xxh64"] as? String ?? ""
            #expect(hash.count == 16 && hash.allSatisfy(\.isHexDigit), "\(name)")
        }
    }

    /// A demo directory (marked `.metamerge-demo`) where the user put a file named `report.h5`: the demo refuses
    /// to replace it.
    @Test func demoRefusesToReplaceAUserFileInItsDirectory() throws {
        let directory = try makeTemporaryDirectory("t17-demo")
        try Data("written by metamerge demo\n".utf8).write(to: directory.appendingPathComponent(".metamerge-demo"))
        let report = directory.appendingPathComponent("report.h5")
        try Data("my own notes, not a report".utf8).write(to: report)
        let result = try MetaMergeProcess.run(["demo", directory.path])
        #expect(result.status == 2)
        #expect(result.stderr.contains(report.path) && result.stderr.contains("not a MetaMerge report"))
        #expect(try Data(contentsOf: report) == Data("my own notes, not a report".utf8))
    }

    /// `-o FILE` is checked when the command starts and again just before the report is renamed into place: a file
    /// of the user's that appears there while a probe runs is left alone (exit 2), not replaced.
    @Test func aReportDestinationIsCheckedAgainBeforeTheRename() throws {
        let family = try FamilyCopy("t17-report-race", tasks: ["add", "rev"])
        let report = family.workspace.appendingPathComponent("probe.h5")
        let stderr = family.workspace.appendingPathComponent("stderr.txt")
        let process = try Self.start(
            ["probe"] + family.arguments + [
                "--alphas", "0:1:0.02", "--random-prompts", "8", "--prompt-length", "16", "--scales", "1", "-o",
                report.path,
            ], stderr: stderr)
        Thread.sleep(forTimeInterval: 0.5)
        #expect(process.isRunning, "the probe ended before the user's file was written; make it longer")
        try Data("the user's own file".utf8).write(to: report)
        process.waitUntilExit()
        #expect(process.terminationStatus == 2)
        #expect(try Data(contentsOf: report) == Data("the user's own file".utf8))
        let message = try String(contentsOf: stderr, encoding: .utf8)
        #expect(message.contains(report.path) && message.contains("not a MetaMerge report"), "\(message)")
        #expect(FamilyCopy.partials(in: family.workspace).isEmpty)
    }

    /// In a demo directory, a `notebooks/` the demo's export did not make is refused before anything runs (the
    /// export replaces files there).
    @Test func demoRefusesANotebooksDirectoryItDidNotMake() throws {
        let directory = try makeTemporaryDirectory("t17-demo-notebooks")
        try Data("written by metamerge demo\n".utf8).write(to: directory.appendingPathComponent(".metamerge-demo"))
        let notebooks = directory.appendingPathComponent("notebooks")
        try FileManager.default.createDirectory(at: notebooks, withIntermediateDirectories: true)
        try Data("<html>mine</html>".utf8).write(to: notebooks.appendingPathComponent("index.html"))
        let result = try MetaMergeProcess.run(["demo", directory.path, "--notebooks-python", "/bin/false"])
        #expect(result.status == 2)
        #expect(result.stderr.contains(notebooks.path) && result.stderr.contains("did not make"), "\(result.stderr)")
        #expect(!result.stdout.contains("== 2."), "refused before the statistics pass")
        #expect(try Data(contentsOf: notebooks.appendingPathComponent("index.html")) == Data("<html>mine</html>".utf8))
    }

    // MARK: stale partials (item 6)

    /// A directory of the user's that matches the temporary pattern with a dead process id is left alone and named;
    /// so is one with a marker file of other contents. A real temporary of a killed merge is removed.
    @Test func onlyMarkedPartialsOfDeadProcessesAreRemoved() throws {
        let family = try FamilyCopy("t17-stale", tasks: ["add", "rev", "sort"])
        let out = family.workspace.appendingPathComponent("merged")
        // Above the kernel's pid_max: a process id that cannot be running.
        let user = family.workspace.appendingPathComponent(".merged.partial-2147483000-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: user, withIntermediateDirectories: true)
        try Data("thesis".utf8).write(to: user.appendingPathComponent("thesis.tex"))
        let forged = family.workspace.appendingPathComponent(".merged.partial-2147483001-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: forged, withIntermediateDirectories: true)
        try Data("mine".utf8).write(to: forged.appendingPathComponent(".metamerge-partial"))
        // Empty: a run killed between creating its temporary and writing the marker; removing it destroys nothing.
        let empty = family.workspace.appendingPathComponent(".merged.partial-2147483002-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)

        // A merge killed by SIGKILL while it runs leaves its (marked) temporary.
        let slow = try Self.karcherConfig(family)
        let process = try Self.start(["merge", slow.path, out.path, "--quiet"])
        Thread.sleep(forTimeInterval: 1.0)
        #expect(process.isRunning)
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        let planted = [user.lastPathComponent, forged.lastPathComponent, empty.lastPathComponent]
        let killed = FamilyCopy.partials(in: family.workspace).filter { !planted.contains($0) }
        #expect(killed.count == 1, "\(FamilyCopy.partials(in: family.workspace))")

        let result = try MetaMergeProcess.run(["merge", try family.config().path, out.path, "--quiet"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try Data(contentsOf: user.appendingPathComponent("thesis.tex")) == Data("thesis".utf8))
        #expect(FileManager.default.fileExists(atPath: forged.appendingPathComponent(".metamerge-partial").path))
        #expect(result.stderr.contains(user.path) && result.stderr.contains(forged.path), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: empty.path))
        for name in killed {
            #expect(!FileManager.default.fileExists(atPath: family.workspace.appendingPathComponent(name).path))
            #expect(result.stderr.contains("removed \(family.workspace.appendingPathComponent(name).path)"))
        }
    }

    // MARK: signals (item 7)

    /// A long run of each command gets SIGINT or SIGTERM after a second: it ends within 1.5 s (a second plus the
    /// test machine's scheduling slack) with exit status 128 + signal, one line on stderr, and no temporary left.
    @Test(arguments: [
        ("probe", SIGINT), ("probe", SIGTERM), ("tokenize", SIGTERM), ("tokenize", SIGINT), ("analyze", SIGINT),
        ("merge", SIGTERM), ("sweep", SIGINT),
    ])
    func aSignalEndsTheRunWithinASecond(command: String, signal number: Int32) throws {
        let family = try FamilyCopy("t17-signal-\(command)", tasks: ["add", "rev", "sort"])
        let arguments = try Self.longRun(command, family)
        let process = try Self.start(arguments, stderr: family.workspace.appendingPathComponent("stderr.txt"))
        Thread.sleep(forTimeInterval: 1.0)
        #expect(process.isRunning, "\(command) ended before the signal; make its run longer")
        let sent = Date()
        kill(process.processIdentifier, number)
        process.waitUntilExit()
        let elapsed = Date().timeIntervalSince(sent)
        #expect(elapsed < 1.5, "\(command) took \(elapsed) s to end after signal \(number)")
        #expect(process.terminationReason == .exit)
        #expect(process.terminationStatus == 128 + number)
        let stderr = try String(contentsOf: family.workspace.appendingPathComponent("stderr.txt"), encoding: .utf8)
        #expect(stderr.contains("interrupted by \(number == SIGINT ? "SIGINT" : "SIGTERM")"), "\(stderr)")
        #expect(FamilyCopy.partials(in: family.workspace).isEmpty, "\(FamilyCopy.partials(in: family.workspace))")
        #expect(!FileManager.default.fileExists(atPath: family.workspace.appendingPathComponent("out").path))
    }

    /// A signal during `merge --overwrite` leaves the earlier output, byte for byte, under its name.
    @Test(arguments: [SIGINT, SIGTERM])
    func aSignalDuringOverwriteKeepsTheEarlierOutput(signal number: Int32) throws {
        let family = try FamilyCopy("t17-signal-overwrite", tasks: ["add", "rev", "sort"])
        let out = family.workspace.appendingPathComponent("out")
        #expect(try MetaMergeProcess.run(["merge", try family.config().path, out.path, "--quiet"]).status == 0)
        let before = try FamilyCopy.snapshot(out)
        let process = try Self.start(["merge", try Self.karcherConfig(family).path, out.path, "--overwrite"])
        Thread.sleep(forTimeInterval: 1.0)
        #expect(process.isRunning)
        let sent = Date()
        kill(process.processIdentifier, number)
        process.waitUntilExit()
        #expect(Date().timeIntervalSince(sent) < 1.5)
        #expect(process.terminationStatus == 128 + number)
        #expect(try FamilyCopy.snapshot(out) == before)
        #expect(FamilyCopy.partials(in: family.workspace).isEmpty)
    }

    /// A signal during `analyze -o REPORT` over an earlier report leaves that report, byte for byte.
    @Test func aSignalDuringAnalyzeKeepsTheEarlierReport() throws {
        let family = try FamilyCopy("t17-signal-report", tasks: ["add", "rev", "sort"])
        let report = family.workspace.appendingPathComponent("out.h5")
        let first = try MetaMergeProcess.run(["analyze"] + family.arguments + ["-o", report.path])
        #expect(first.status == 0, "\(first.stderr)")
        let before = try Data(contentsOf: report)
        let process = try Self.start(try Self.longRun("analyze", family))
        Thread.sleep(forTimeInterval: 1.0)
        #expect(process.isRunning)
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        #expect(process.terminationStatus == 130)
        #expect(try Data(contentsOf: report) == before)
        #expect(FamilyCopy.partials(in: family.workspace).isEmpty)
    }

    // MARK: helpers

    /// A karcher merge that iterates long (`max_iter` 100000 with `tol` 0: tens of seconds in a debug build).
    static func karcherConfig(_ family: FamilyCopy) throws -> URL {
        try family.config("karcher", name: "karcher.yml", extra: "parameters: {max_iter: 100000, tol: 0.0}\n")
    }

    /// Arguments that keep `command` busy for several seconds on the tiny family (debug build), writing to `out`
    /// or `out.h5` in the workspace.
    static func longRun(_ command: String, _ family: FamilyCopy) throws -> [String] {
        let report = family.workspace.appendingPathComponent("out.h5").path
        let tasks = RepositoryPaths.tinyFamily.appendingPathComponent("tasks")
        switch command {
        case "probe":
            return ["probe"] + family.arguments + [
                "--alphas", "0:1:0.01", "--random-prompts", "16", "--prompt-length", "32", "--scales", "1", "-o",
                report,
            ]
        case "tokenize":
            let file = family.workspace.appendingPathComponent("prompts.txt")
            let line = "the quick brown fox jumps over 12+34=46 and the lazy dog sorts 9 3 7\n"
            try Data(String(repeating: line, count: 200_000).utf8).write(to: file)
            return ["tokenize", family.model("base").path, "--file", file.path]
        case "analyze":
            // 40 task models (the same weights under 40 names): a 40 × 40 Gram matrix per tensor.
            let models = (1...40).flatMap { ["--model", "t\($0)=\(family.model("add").path)"] }
            return ["analyze", "--base", family.model("base").path] + models + ["-o", report]
        case "merge":
            return ["merge", try karcherConfig(family).path, family.workspace.appendingPathComponent("out").path]
        case "sweep":
            return ["sweep"] + family.arguments + ["add", "rev", "sort"].flatMap {
                ["--task", "\($0)=\(tasks.appendingPathComponent("\($0).jsonl").path)"]
            } + ["--scales", "0:3:0.1", "-o", report]
        default:
            fatalError("no long run for \(command)")
        }
    }

    /// Starts the executable with `arguments`; stdout is discarded, stderr goes to `stderr` (or is discarded).
    static func start(_ arguments: [String], stderr: URL? = nil) throws -> Process {
        let process = Process()
        process.executableURL = MetaMergeProcess.executable
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        if let stderr {
            _ = FileManager.default.createFile(atPath: stderr.path, contents: nil)
            process.standardError = try FileHandle(forWritingTo: stderr)
        } else {
            process.standardError = FileHandle.nullDevice
        }
        try process.run()
        return process
    }
}
