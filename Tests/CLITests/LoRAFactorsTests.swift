import Foundation
import HDF5
import SafeTensors
import TestSupport
import Testing

/// `analyze` of a family whose tasks are all LoRA adapters, from the factors only (issue 20, items 1 and 6): the Gram
/// blocks ⟨s_iB_iA_i, s_jB_jA_j⟩ = s_i s_j tr((B_iᵀB_j)(A_jA_iᵀ)), Σ τ = s·(1ᵀB)(A1) and the count, without reading
/// the base or forming B·A; the per-coordinate statistics are "not computed" (`/tensors/coordinate_stats` 0, NaN
/// sums, 0 counts). References: NumPy float64 on the materialised τ = s·B·A
/// (scripts/fixtures/make_lora_analysis_references.py → Tests/Fixtures/lora/analysis/references.json, whose
/// family adds a full fine-tune `add`; the adapters' Gram entries do not depend on it, so its block is left out).
@Suite("LoRA adapters analysed from their factors")
struct LoRAFactorsTests {
    static let adapters = ["r4-attn", "rslora", "patterns"]

    /// The reference's tasks, in the reference's order (the adapters first, then `add`).
    static func referenceTasks() throws -> (json: [String: Any], names: [String]) {
        let url = LoRAAnalysisTests.lora.appendingPathComponent("analysis/references.json")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let names = try #require(json["tasks"] as? [[String: String]]).map { $0["name"]! }
        return (json, names)
    }

    /// `analyze` of base + the three adapters into `report`.
    static func analyze(base: URL = LoRAAnalysisTests.base, into report: URL, json: Bool = false) throws
        -> MetaMergeProcess.Result
    {
        let models = adapters.flatMap {
            ["--model", "\($0)=\(LoRAAnalysisTests.lora.appendingPathComponent("adapters/\($0)").path)"]
        }
        return try MetaMergeProcess.run(
            ["analyze", "--base", base.path] + models + ["-o", report.path] + (json ? ["--json"] : []))
    }

    /// Checks the report's per-tensor Gram blocks, Σ τ and counts, and the global Gram matrix and λ, against NumPy
    /// (the adapters' block of the reference, within 1e-9 relative), and that every per-coordinate figure is "not
    /// computed".
    static func expectFactorStatistics(_ report: URL) throws {
        let (json, referenceNames) = try referenceTasks()
        let tensorsReference = try #require(json["tensors"] as? [String: [String: Any]])
        let R = referenceNames.count
        let index = try adapters.map { try #require(referenceNames.firstIndex(of: $0)) }
        let T = adapters.count
        let file = try HDF5File.open(at: report)
        defer { try? file.close() }
        let tensors = try file.root.group("tensors")
        let names = try tensors.dataset("name").readStrings()
        #expect(Set(names) == Set(tensorsReference.keys))
        let gram = try tensors.dataset("gram").read(Double.self).values
        let sums = try tensors.dataset("sum").read(Double.self).values
        let elements = try tensors.dataset("elements").read(Int.self).values
        let flags = try tensors.dataset("coordinate_stats").read(UInt8.self).values
        #expect(flags == [UInt8](repeating: 0, count: names.count))
        for name in ["base_sq_norm", "abs_sum", "max_abs", "mean_abs", "zero_fraction", "relative_norm",
            "sign_conflict_rate", "base_norm"]
        {
            #expect(try tensors.dataset(name).read(Double.self).values.allSatisfy(\.isNaN), "/tensors/\(name)")
        }
        for name in ["zeros", "sign_conflicts", "non_finite"] {
            #expect(try tensors.dataset(name).read(Int.self).values.allSatisfy { $0 == 0 }, "/tensors/\(name)")
        }
        var globalReference = [Double](repeating: 0, count: T * T)
        for (n, name) in names.enumerated() {
            let entry = try #require(tensorsReference[name])
            let refGram = try #require(entry["gram"] as? [Double])
            for i in 0..<T {
                for j in 0..<T {
                    let expected = refGram[index[i] * R + index[j]]
                    globalReference[i * T + j] += expected
                    let scale = (refGram[index[i] * R + index[i]] * refGram[index[j] * R + index[j]]).squareRoot()
                    let value = gram[n * T * T + i * T + j]
                    #expect(
                        abs(value - expected) <= 1e-9 * scale, "\(name) G[\(i),\(j)]: \(value) vs NumPy \(expected)")
                }
            }
            let refSum = try #require(entry["sum"] as? [Double]), refAbs = try #require(entry["abs_sum"] as? [Double])
            for t in 0..<T {
                let expected = refSum[index[t]], scale = refAbs[index[t]]
                let value = sums[n * T + t]
                #expect(abs(value - expected) <= 1e-9 * scale, "\(name) Σ τ \(t): \(value) vs NumPy \(expected)")
            }
            // NumPy counts every coordinate (its base is finite).
            #expect(elements[n] == (entry["elements"] as? Int), "\(name) elements")
        }
        let global = try file.root.group("global")
        let globalGram = try global.dataset("gram").read(Double.self).values
        for i in 0..<T {
            for j in 0..<T {
                let scale = (globalReference[i * T + i] * globalReference[j * T + j]).squareRoot()
                #expect(abs(globalGram[i * T + j] - globalReference[i * T + j]) <= 1e-9 * scale, "G[\(i),\(j)]")
            }
        }
        // MetaGPT's λ_t = ‖τ_t‖² / Σ_k ‖τ_k‖² from NumPy's Gram diagonal.
        let diagonal = (0..<T).map { globalReference[$0 * T + $0] }
        let lambdas = try global.dataset("metagpt_lambda").read(Double.self).values
        for t in 0..<T {
            let expected = diagonal[t] / diagonal.reduce(0, +)
            #expect(abs(lambdas[t] - expected) <= 1e-9 * expected, "λ \(t): \(lambdas[t]) vs \(expected)")
        }
        #expect(try global.dataset("coordinate_stats").read(UInt8.self).values == [0])
        #expect(try global.dataset("sign_conflict_rate").read(Double.self).values.allSatisfy(\.isNaN))
    }

    /// Gram blocks, Σ τ, counts and λ from the factors equal NumPy's on τ = s·B·A; the per-coordinate statistics
    /// are NaN / 0 with coordinate_stats 0. Before, every τ was materialised and the per-coordinate sums were
    /// numbers (and `coordinate_stats` did not exist).
    @Test func adaptersOnlyGiveTheFactorStatisticsAndMarkTheRestNotComputed() throws {
        let report = try makeTemporaryDirectory("lora-factors").appendingPathComponent("stats.h5")
        let result = try Self.analyze(into: report)
        try #require(result.status == 0, "\(result.stderr)")
        try Self.expectFactorStatistics(report)
        #expect(result.stdout.contains("not computed for 39 of 39 tensors"), "\(result.stdout)")
        #expect(!result.stdout.contains("sign conflicts: "), "\(result.stdout)")
    }

    /// The base's weights are not read: with every weight of the base's file overwritten by NaN (its header kept),
    /// the report is the same as NumPy's on the intact base. Before, those NaNs were counted as non-finite and every
    /// coordinate left out of the adapters' sums.
    @Test func theBaseWeightsAreNotRead() throws {
        let family = try FamilyCopy("lora-factors-nan", tasks: [])
        let weights = family.model("base").appendingPathComponent("model.safetensors")
        var bytes = try Data(contentsOf: weights)
        let headerLength = bytes.prefix(8).enumerated().reduce(0) { $0 | (Int($1.element) << (8 * $1.offset)) }
        let data = (8 + headerLength)..<bytes.count
        bytes.replaceSubrange(data, with: Data(repeating: 0xFF, count: data.count))
        try bytes.write(to: weights)
        let report = family.workspace.appendingPathComponent("stats.h5")
        let result = try Self.analyze(base: family.model("base"), into: report)
        try #require(result.status == 0, "\(result.stderr)")
        try Self.expectFactorStatistics(report)
    }

    /// The report is read back: `check` evaluates the cosine gate on the factor Gram blocks and says that non-finite
    /// weights were not counted for those tensors (not a silent pass); `--json` gives the count of such tensors.
    @Test func checkReadsTheReportAndSaysWhatWasNotEvaluated() throws {
        let work = try makeTemporaryDirectory("lora-factors-check")
        let report = work.appendingPathComponent("stats.h5")
        let analyze = try Self.analyze(into: report, json: true)
        try #require(analyze.status == 0, "\(analyze.stderr)")
        #expect(analyze.stdout.contains(#""tensorsWithoutCoordinateStatistics" : 39"#), "\(analyze.stdout)")
        let check = try MetaMergeProcess.run(["check", report.path, "--max-cosine", "0.1", "--scope", "layer"])
        #expect(check.status == 0, "\(check.stderr)")
        #expect(check.stdout.contains("non-finite weights not counted in 39 tensor(s) whose task vectors are all LoRA"),
            "\(check.stdout)")
        let failing = try MetaMergeProcess.run(["check", report.path, "--max-cosine", "0.001"])
        #expect(failing.status == 1, "\(failing.stdout)\(failing.stderr)")
    }

    /// A "not computed" row that holds a number (an edited report) is refused naming the dataset, the row and the
    /// tensor, rather than read as a statistic.
    @Test func aNotComputedRowHoldingANumberIsRefused() throws {
        let report = try makeTemporaryDirectory("lora-factors-edit").appendingPathComponent("stats.h5")
        let analyze = try Self.analyze(into: report)
        try #require(analyze.status == 0, "\(analyze.stderr)")
        let file = try HDF5File.open(at: report, mode: .readWrite)
        let dataset = try file.root.dataset("tensors/abs_sum")
        var values = try dataset.read(Double.self).values
        values[0] = 1
        try dataset.write(values)
        let name = try file.root.dataset("tensors/name").readStrings()[0]
        try file.close()
        let check = try MetaMergeProcess.run(["check", report.path, "--max-cosine", "0.1"])
        #expect(check.status == 2, "\(check.stderr)")
        #expect(check.stderr.split(separator: "\n").count == 1, "\(check.stderr)")
        #expect(
            check.stderr.contains(
                "\(report.path): /tensors/abs_sum[0] (\(name)) holds a number but coordinate_stats is 0; expected NaN"),
            "\(check.stderr)")
    }

    /// A `fan_in_fan_out` adapter (GPT-2's Conv1D layers: τ = s·(B·A)ᵀ, U = Aᵀ, V = Bᵀ) from its factors: ‖τ‖² and
    /// Σ τ per tensor against τ = merged − base of PEFT's `merge_and_unload()` (Tests/Fixtures/lora/merged, made by
    /// scripts/fixtures/make_lora_fixtures.py), in Float64. That reference is stored in float32, so each τ
    /// coordinate carries up to half an ulp of the weight: 1e-6 relative (measured 3e-8; a transposed or misread
    /// factor is off by far more); tensors the adapter does not change are 0.
    @Test func aFanInFanOutAdapterFromItsFactorsMatchesPEFTsMergedCopy() throws {
        let base = RepositoryPaths.fixtures.appendingPathComponent("architectures/gpt2/base")
        let adapter = LoRAAnalysisTests.lora.appendingPathComponent("adapters/gpt2-conv1d")
        let report = try makeTemporaryDirectory("lora-factors-fif").appendingPathComponent("stats.h5")
        let result = try MetaMergeProcess.run(
            ["analyze", "--base", base.path, "--model", "conv=\(adapter.path)", "-o", report.path])
        try #require(result.status == 0, "\(result.stderr)")
        let merged = try LoRAMergeTests.tensors(
            LoRAAnalysisTests.lora.appendingPathComponent("merged/gpt2-conv1d.safetensors"))
        let weights = try LoRAMergeTests.tensors(base.appendingPathComponent("model.safetensors"))
        let file = try HDF5File.open(at: report)
        defer { try? file.close() }
        let tensors = try file.root.group("tensors")
        let names = try tensors.dataset("name").readStrings()
        let gram = try tensors.dataset("gram").read(Double.self).values
        let sums = try tensors.dataset("sum").read(Double.self).values
        var adapted = 0
        for (n, name) in names.enumerated() {
            guard let after = merged[name] else {
                #expect(gram[n] == 0 && sums[n] == 0, "\(name) is not adapted: τ = 0")
                continue
            }
            adapted += 1
            let before = try #require(weights[name], "\(name)")
            let tau = zip(after, before).map { Double($0) - Double($1) }
            let squared = tau.reduce(0) { $0 + $1 * $1 }, total = tau.reduce(0, +)
            let absolute = tau.reduce(0) { $0 + abs($1) }
            #expect(squared > 0 && abs(gram[n] - squared) <= 1e-6 * squared, "\(name) ‖τ‖²: \(gram[n]) vs \(squared)")
            #expect(abs(sums[n] - total) <= 1e-6 * absolute, "\(name) Σ τ: \(sums[n]) vs \(total)")
        }
        #expect(adapted == merged.count && adapted > 0)
    }

    /// A report written before `coordinate_stats` existed (the same report without the three flags) is read as
    /// computed everywhere: `check` gives the same findings as on the report with the flags, and no "not counted"
    /// line.
    @Test func aReportWithoutTheFlagIsReadAsComputed() throws {
        let reports = try TrustReportTests.Reports("lora-factors-older")
        let older = reports.family.workspace.appendingPathComponent("older.h5")
        try reports.copy(
            to: older, omitting: ["/tensors/coordinate_stats", "/layers/coordinate_stats", "/global/coordinate_stats"])
        let arguments = ["--max-cosine", "0.5", "--scope", "tensor"]
        let current = try MetaMergeProcess.run(["check", reports.statistics.path] + arguments)
        let previous = try MetaMergeProcess.run(["check", older.path] + arguments)
        // The bundled family fails this gate in some tensor (exit 1): the same violations either way.
        #expect(current.status == 1 && previous.status == 1, "\(current.stderr)\(previous.stderr)")
        #expect(previous.stdout == current.stdout && !previous.stdout.contains("not counted"), "\(previous.stdout)")
    }

    /// A NaN in an adapter's factor is refused, exit 2, one line naming the adapter file, the tensor and the reason,
    /// and no report is written (the factors are the whole input here: nothing else would notice it).
    @Test func aNonFiniteFactorIsRefused() throws {
        let work = try makeTemporaryDirectory("lora-factors-nan")
        let adapter = work.appendingPathComponent("r4-attn")
        try FileManager.default.copyItem(
            at: LoRAAnalysisTests.lora.appendingPathComponent("adapters/r4-attn"), to: adapter)
        let weights = adapter.appendingPathComponent("adapter_model.safetensors")
        let file = try SafeTensorsFile(url: weights)
        let info = try #require(file.tensors.first { $0.name.contains("lora_B") && $0.dtype == .f32 })
        var bytes = try Data(contentsOf: weights)
        let headerLength = bytes.prefix(8).enumerated().reduce(0) { $0 | (Int($1.element) << (8 * $1.offset)) }
        let offset = 8 + headerLength + info.dataOffsets.lowerBound
        var nan = Float.nan.bitPattern
        withUnsafeBytes(of: &nan) { bytes.replaceSubrange(offset..<(offset + 4), with: $0) }
        try bytes.write(to: weights)
        let report = work.appendingPathComponent("stats.h5")
        let result = try MetaMergeProcess.run(
            ["analyze", "--base", LoRAAnalysisTests.base.path, "--model", "a=\(adapter.path)", "-o", report.path])
        #expect(result.status == 2, "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
        #expect(result.stderr.contains(weights.path), "\(result.stderr)")
        #expect(result.stderr.contains("the LoRA factors of this module hold a non-finite value"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: report.path))
    }
}
