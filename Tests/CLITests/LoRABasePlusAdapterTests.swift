import Foundation
import HDF5
import TestSupport
import Testing

/// MergeKit's `BASE+ADAPTER` as a task model on the command line (issue 20, item 1): `--model NAME=BASE+ADAPTER` in
/// `analyze`, `probe` and `sweep`, and `eval BASE+ADAPTER`, against the references made with PEFT / NumPy /
/// transformers (Tests/Fixtures/lora: analysis, probe and eval references). Before, each was refused ("LoRA adapters
/// are not supported yet").
@Suite("LoRA BASE+ADAPTER on the command line")
struct LoRABasePlusAdapterTests {
    static let adapters = LoRAAnalysisTests.lora.appendingPathComponent("adapters")
    static let base = LoRAAnalysisTests.base

    /// `BASE+ADAPTER` of the family's base and adapter `name`.
    static func plus(_ name: String) -> String {
        base.path + "+" + adapters.appendingPathComponent(name).path
    }

    /// `analyze` with the three adapters written as BASE+ADAPTER (and the full fine-tune as a path): the global Gram
    /// matrix and MetaGPT's λ within 1e-9 relative of NumPy float64 on τ = s·B·A.
    @Test func analyzeWithBasePlusAdapterMatchesNumPy() throws {
        let reference = try LoRAAnalysisTests.Reference()
        let work = try makeTemporaryDirectory("lora-plus-analyze")
        let report = work.appendingPathComponent("stats.h5")
        let models = reference.tasks.flatMap { task -> [String] in
            let isAdapter = task.path.hasPrefix(Self.adapters.path)
            return ["--model", "\(task.name)=" + (isAdapter ? Self.plus(task.name) : task.path)]
        }
        #expect(models.filter { $0.contains("+") }.count == 3)
        let result = try MetaMergeProcess.run(["analyze", "--base", Self.base.path] + models + ["-o", report.path])
        try #require(result.status == 0, "\(result.stderr)")
        let file = try HDF5File.open(at: report)
        defer { try? file.close() }
        let global = try file.root.group("global")
        let gram = try global.dataset("gram").read(Double.self).values
        let T = reference.tasks.count
        try #require(gram.count == T * T)
        for i in 0..<T {
            for j in 0..<T {
                let scale = (reference.globalGram[i * T + i] * reference.globalGram[j * T + j]).squareRoot()
                LoRAAnalysisTests.expectClose(gram[i * T + j], reference.globalGram[i * T + j], scale: scale, "G")
            }
        }
        let lambdas = try global.dataset("metagpt_lambda").read(Double.self).values
        for t in 0..<T {
            LoRAAnalysisTests.expectClose(lambdas[t], reference.lambdas[t], scale: reference.lambdas[t], "λ \(t)")
        }
    }

    /// `probe --model r4-attn=BASE+ADAPTER …`: each task's chord residual per prompt within 2 % of transformers at
    /// θ0 + α·Δt with PEFT's update Δt.
    @Test func probeWithBasePlusAdapterMatchesTransformers() throws {
        try LoRAProbeTests.expectChordResidualsMatch(model: Self.plus)
    }

    /// `eval BASE+ADAPTER`: the model PEFT's `merge_and_unload()` gives, without writing it. Each item's completion
    /// NLL within 1e-5 relative of transformers on the PEFT-merged model, exact-match flags and correct-token counts
    /// equal (the reference's point `r4-attn`, c = 1).
    @Test func evalOfBasePlusAdapterMatchesTransformers() throws {
        let work = try makeTemporaryDirectory("lora-plus-eval")
        try LoRAEvalTests.expectItemsMatch(point: "r4-attn", input: Self.plus("r4-attn"), in: work)
    }

    /// `sweep --model NAME=BASE+ADAPTER` gives the same table as the bare adapter directories (whose points the eval
    /// reference checks); a bare `--model BASE+ADAPTER` is named by both folders' names.
    @Test func sweepWithBasePlusAdapterEqualsTheBareAdapter() throws {
        let task = "add=" + RepositoryPaths.tinyFamily.appendingPathComponent("tasks/add.jsonl").path
        let work = try makeTemporaryDirectory("lora-plus-sweep")
        var runs = 0
        func sweep(_ models: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
            runs += 1
            let report = work.appendingPathComponent("sweep\(runs).h5").path
            let result = try MetaMergeProcess.run(
                ["sweep", "--base", Self.base.path] + models.flatMap { ["--model", $0] }
                    + ["--task", task, "--scales", "0.5,1", "--quiet", "--json", "-o", report])
            return (result.status, result.stdout.replacingOccurrences(of: report, with: "REPORT"), result.stderr)
        }
        let plus = try sweep(["r4-attn=" + Self.plus("r4-attn"), "r8-all=" + Self.plus("r8-all")])
        let bare = try sweep([
            "r4-attn=" + Self.adapters.appendingPathComponent("r4-attn").path,
            "r8-all=" + Self.adapters.appendingPathComponent("r8-all").path,
        ])
        try #require(plus.status == 0, "\(plus.stderr)")
        try #require(bare.status == 0, "\(bare.stderr)")
        #expect(plus.stdout == bare.stdout)
        #expect(plus.stdout.contains("\"r8-all\""), "\(plus.stdout)")
        let unnamed = try sweep([Self.plus("r4-attn"), Self.adapters.appendingPathComponent("r8-all").path])
        try #require(unnamed.status == 0, "\(unnamed.stderr)")
        #expect(unnamed.stdout.contains("\"base+r4-attn\""), "\(unnamed.stdout)")
    }

    /// An adapter on another base (here a copy of the base) is refused with one line naming both folders and the
    /// family's base, exit 2, and no report is written.
    @Test(arguments: ["analyze", "probe"])
    func anAdapterOnAnotherBaseIsRefused(command: String) throws {
        let work = try makeTemporaryDirectory("lora-plus-other")
        let other = work.appendingPathComponent("other")
        try FileManager.default.copyItem(at: Self.base, to: other)
        let adapter = Self.adapters.appendingPathComponent("r4-attn").path
        let report = work.appendingPathComponent("r.h5")
        let result = try MetaMergeProcess.run([
            command, "--base", Self.base.path, "--model", "t=\(other.path)+\(adapter)", "-o", report.path,
        ])
        #expect(result.status == 2, "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
        let expected = "the LoRA adapter \(adapter) on \(other.path), which is not --base \(Self.base.path)"
        #expect(result.stderr.contains(expected), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: report.path))
    }
}
