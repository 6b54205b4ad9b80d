import Foundation
import TestSupport
import Testing

/// Runs the `metamerge` executable built beside the test bundle.
struct MetaMergeProcess {
    static let executable: URL = {
        var folder = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = folder.appendingPathComponent("metamerge")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            folder = folder.deletingLastPathComponent()
        }
        return RepositoryPaths.root.appendingPathComponent(".build/debug/metamerge")
    }()

    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// Runs `metamerge arguments` in `directory`; `environment` entries are set on top of this process's own.
    static func run(
        _ arguments: [String], in directory: URL? = nil, environment: [String: String]? = nil
    ) throws -> Result {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        if let environment {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData, as: UTF8.self))
    }
}

@Suite("The metamerge command line: exit codes and one-line errors")
struct CommandLineTests {
    static var family: URL { RepositoryPaths.tinyFamily }

    @Test func inspectTheBundledBase() throws {
        let result = try MetaMergeProcess.run(["inspect", Self.family.appendingPathComponent("base").path])
        #expect(result.status == 0)
        #expect(result.stdout.contains("LlamaForCausalLM"))
        #expect(result.stdout.contains("model.safetensors"))
        let json = try MetaMergeProcess.run([
            "inspect", "--json", "--tensors", Self.family.appendingPathComponent("add").path,
        ])
        #expect(json.status == 0)
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        #expect((object?["tensors"] as? [Any])?.isEmpty == false)
    }

    @Test func badInputIsOneLineAndExitTwo() throws {
        let directory = try makeTemporaryDirectory("cli")
        try Data("{}".utf8).write(to: directory.appendingPathComponent("config.json"))
        try Data("x".utf8).write(to: directory.appendingPathComponent("pytorch_model.bin"))
        let pickle = try MetaMergeProcess.run(["inspect", directory.path])
        #expect(pickle.status == 2)
        #expect(pickle.stderr.split(separator: "\n").count == 1)
        #expect(pickle.stderr.contains("safetensors"))

        let missing = try MetaMergeProcess.run(["inspect", directory.appendingPathComponent("nope").path])
        #expect(missing.status == 2)

        let garbage = directory.appendingPathComponent("garbage")
        try FileManager.default.createDirectory(at: garbage, withIntermediateDirectories: true)
        try Data("{}".utf8).write(to: garbage.appendingPathComponent("config.json"))
        try Data([0x10, 0, 0, 0, 0, 0, 0, 0, 0x7B]).write(to: garbage.appendingPathComponent("model.safetensors"))
        let truncated = try MetaMergeProcess.run(["inspect", garbage.path])
        #expect(truncated.status == 2)
        #expect(truncated.stderr.contains("model.safetensors"))
    }

    @Test func analyzeThenGate() throws {
        let directory = try makeTemporaryDirectory("cli")
        let report = directory.appendingPathComponent("report.h5").path
        var arguments = ["analyze", "--base", Self.family.appendingPathComponent("base").path, "-o", report]
        for task in ["add", "rev", "sort"] {
            arguments += ["--model", "\(task)=\(Self.family.appendingPathComponent(task).path)"]
        }
        let analyze = try MetaMergeProcess.run(arguments)
        #expect(analyze.status == 0, "\(analyze.stderr)")
        #expect(analyze.stdout.contains("MetaGPT λ"))
        #expect(try MetaMergeProcess.run(["check", report, "--max-cosine", "0.9999"]).status == 0)
        let fail = try MetaMergeProcess.run(["check", report, "--max-cosine", "0.0000001", "--scope", "layer"])
        #expect(fail.status == 1)
        #expect(fail.stdout.contains("FAIL"))
        #expect(try MetaMergeProcess.run(["check", report, "--max-chord-residual", "0.1"]).status == 2)
        let notReport = directory.appendingPathComponent("x.h5")
        try Data("plain text".utf8).write(to: notReport)
        #expect(try MetaMergeProcess.run(["check", notReport.path, "--max-cosine", "0.1"]).status == 2)
    }
}
