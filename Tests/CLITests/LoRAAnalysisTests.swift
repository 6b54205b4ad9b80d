import Foundation
import HDF5
import SafeTensors
import TestSupport
import Testing

/// LoRA adapters as task models of `analyze`, and in merges that need task-vector statistics (MetaGPT's λ,
/// `--gate`, `--stats`) (issue 20, item 1), against NumPy float64 on the materialised τ = s·B·A
/// (scripts/fixtures/make_lora_analysis_references.py → Tests/Fixtures/lora/analysis/references.json).
@Suite("LoRA adapters in analyze and MetaGPT")
struct LoRAAnalysisTests {
    static let lora = RepositoryPaths.fixtures.appendingPathComponent("lora")
    static let base = RepositoryPaths.tinyFamily.appendingPathComponent("base")

    /// The reference: the family's tasks (name, path from the repository root), per tensor statistics, global Gram
    /// matrix and λ.
    struct Reference {
        let tasks: [(name: String, path: String)]
        let tensors: [String: [String: Any]]
        let globalGram: [Double]
        let lambdas: [Double]

        init() throws {
            let url = LoRAAnalysisTests.lora.appendingPathComponent("analysis/references.json")
            let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
            let root = RepositoryPaths.fixtures.deletingLastPathComponent().deletingLastPathComponent()
            tasks = try #require(json["tasks"] as? [[String: String]]).map {
                ($0["name"]!, root.appendingPathComponent($0["path"]!).path)
            }
            tensors = try #require(json["tensors"] as? [String: [String: Any]])
            globalGram = try #require(json["global_gram"] as? [Double])
            lambdas = try #require(json["metagpt_lambda"] as? [Double])
        }

        func doubles(_ tensor: String, _ key: String) throws -> [Double] {
            if let value = tensors[tensor]?[key] as? Double { return [value] }
            return try #require(tensors[tensor]?[key] as? [Double], "\(tensor) \(key)")
        }

        func ints(_ tensor: String, _ key: String) throws -> [Int] {
            if let value = tensors[tensor]?[key] as? Int { return [value] }
            return try #require(tensors[tensor]?[key] as? [Int], "\(tensor) \(key)")
        }
    }

    /// |a − b| ≤ 1e-9 · scale.
    static func expectClose(_ a: Double, _ b: Double, scale: Double, _ what: String) {
        #expect(abs(a - b) <= 1e-9 * scale, "\(what): \(a) vs NumPy \(b)")
    }

    /// `analyze` of base + three adapters (r 4 attention-only, rsLoRA r 8, rank/alpha patterns) + a full fine-tune:
    /// every Gram entry, ‖θ0‖², Σ τ, Σ |τ|, max |τ|, zero and sign-conflict counts per tensor, and the global Gram
    /// matrix and λ, within 1e-9 relative of NumPy float64 on τ = s·B·A. Before adapters were read, the adapter
    /// directories were refused (no config.json).
    @Test func analyzeWithAdaptersMatchesNumPy() throws {
        let reference = try Reference()
        let work = try makeTemporaryDirectory("lora-analyze")
        let report = work.appendingPathComponent("stats.h5")
        let result = try MetaMergeProcess.run(
            ["analyze", "--base", Self.base.path] + reference.tasks.flatMap { ["--model", "\($0.name)=\($0.path)"] }
                + ["-o", report.path])
        try #require(result.status == 0, "\(result.stderr)")
        let file = try HDF5File.open(at: report)
        defer { try? file.close() }
        let tensors = try file.root.group("tensors")
        let names = try tensors.dataset("name").readStrings()
        #expect(Set(names) == Set(reference.tensors.keys))
        let T = reference.tasks.count
        let gram = try tensors.dataset("gram").read(Double.self).values
        let baseSquared = try tensors.dataset("base_sq_norm").read(Double.self).values
        let sums = try tensors.dataset("sum").read(Double.self).values
        let absoluteSums = try tensors.dataset("abs_sum").read(Double.self).values
        let maxima = try tensors.dataset("max_abs").read(Double.self).values
        let zeros = try tensors.dataset("zeros").read(Int.self).values
        let conflicts = try tensors.dataset("sign_conflicts").read(Int.self).values
        let elements = try tensors.dataset("elements").read(Int.self).values
        for (n, name) in names.enumerated() {
            let refGram = try reference.doubles(name, "gram")
            for i in 0..<T {
                for j in 0..<T {
                    let scale = (refGram[i * T + i] * refGram[j * T + j]).squareRoot()
                    Self.expectClose(
                        gram[n * T * T + i * T + j], refGram[i * T + j], scale: scale, "\(name) G[\(i),\(j)]")
                }
            }
            let refBase = try reference.doubles(name, "base_sq_norm")[0]
            Self.expectClose(baseSquared[n], refBase, scale: refBase, "\(name) ‖θ0‖²")
            let refAbs = try reference.doubles(name, "abs_sum"), refSum = try reference.doubles(name, "sum")
            let refMax = try reference.doubles(name, "max_abs")
            for t in 0..<T {
                Self.expectClose(absoluteSums[n * T + t], refAbs[t], scale: refAbs[t], "\(name) Σ|τ| \(t)")
                Self.expectClose(sums[n * T + t], refSum[t], scale: refAbs[t], "\(name) Σ τ \(t)")
                Self.expectClose(maxima[n * T + t], refMax[t], scale: refMax[t], "\(name) max|τ| \(t)")
            }
            #expect(Array(zeros[(n * T)..<((n + 1) * T)]) == (try reference.ints(name, "zeros")), "\(name) zeros")
            #expect(conflicts[n] == (try reference.ints(name, "sign_conflicts"))[0], "\(name) sign conflicts")
            #expect(elements[n] == (try reference.ints(name, "elements"))[0], "\(name) elements")
        }
        let global = try file.root.group("global")
        let globalGram = try global.dataset("gram").read(Double.self).values
        for i in 0..<T {
            for j in 0..<T {
                let scale = (reference.globalGram[i * T + i] * reference.globalGram[j * T + j]).squareRoot()
                Self.expectClose(globalGram[i * T + j], reference.globalGram[i * T + j], scale: scale, "G[\(i),\(j)]")
            }
        }
        let lambdas = try global.dataset("metagpt_lambda").read(Double.self).values
        for t in 0..<T { Self.expectClose(lambdas[t], reference.lambdas[t], scale: reference.lambdas[t], "λ \(t)") }
    }

    /// A NaN in the base's weight at a coordinate adapters change: `analyze` leaves that coordinate out of every sum
    /// of the tensor (the adapters' Gram entries from factors minus its products) and counts it as non-finite for the
    /// base and each adapter (θ0 + τ), as NumPy does on the other coordinates (the reference's `non_finite_case`).
    @Test func aNonFiniteBaseWeightIsLeftOutOfTheFactorSums() throws {
        let reference = try Reference()
        let url = Self.lora.appendingPathComponent("analysis/references.json")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let expected = try #require(json["non_finite_case"] as? [String: Any])
        let name = try #require(expected["tensor"] as? String), element = try #require(expected["element"] as? Int)
        let family = try FamilyCopy("lora-nan", tasks: [])
        let weights = family.model("base").appendingPathComponent("model.safetensors")
        let info = try #require(try SafeTensorsFile(url: weights).info(name))
        try #require(info.dtype == .f32)
        var bytes = try Data(contentsOf: weights)
        let headerLength = bytes.prefix(8).enumerated().reduce(0) { $0 | (Int($1.element) << (8 * $1.offset)) }
        let offset = 8 + headerLength + info.dataOffsets.lowerBound + 4 * element
        var nan = Float.nan.bitPattern
        withUnsafeBytes(of: &nan) { bytes.replaceSubrange(offset..<(offset + 4), with: $0) }
        try bytes.write(to: weights)
        let report = family.workspace.appendingPathComponent("stats.h5")
        let result = try MetaMergeProcess.run(
            ["analyze", "--base", family.model("base").path]
                + reference.tasks.flatMap { ["--model", "\($0.name)=\($0.path)"] } + ["-o", report.path])
        try #require(result.status == 0, "\(result.stderr)")
        let file = try HDF5File.open(at: report)
        defer { try? file.close() }
        let tensors = try file.root.group("tensors")
        let n = try #require(try tensors.dataset("name").readStrings().firstIndex(of: name))
        let T = reference.tasks.count
        let gram = Array(try tensors.dataset("gram").read(Double.self).values[(n * T * T)..<((n + 1) * T * T)])
        let refGram = try #require(expected["gram"] as? [Double])
        for i in 0..<T {
            for j in 0..<T {
                let scale = (refGram[i * T + i] * refGram[j * T + j]).squareRoot()
                Self.expectClose(gram[i * T + j], refGram[i * T + j], scale: scale, "G[\(i),\(j)]")
            }
        }
        let nonFinite = try tensors.dataset("non_finite").read(Int.self).values[(n * (T + 1))..<((n + 1) * (T + 1))]
        #expect(Array(nonFinite) == (try #require(expected["non_finite"] as? [Int])))
        let elements = try tensors.dataset("elements").read(Int.self).values[n]
        #expect(elements == (try #require(expected["elements"] as? Int)))
        let sums = Array(try tensors.dataset("abs_sum").read(Double.self).values[(n * T)..<((n + 1) * T)])
        let refSums = try #require(expected["abs_sum"] as? [Double])
        for t in 0..<T { Self.expectClose(sums[t], refSums[t], scale: refSums[t], "Σ|τ| \(t)") }
    }

    /// The λ column of a merge's model card, by model reference.
    static func cardLambdas(_ out: URL) throws -> [String: Double] {
        let card = try String(contentsOf: out.appendingPathComponent("README.md"), encoding: .utf8)
        var lambdas: [String: Double] = [:]
        for line in card.split(separator: "\n") where line.hasPrefix("| ") {
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            if cells.count == 3, let lambda = Double(cells[2]) { lambdas[cells[0]] = lambda }
        }
        return lambdas
    }

    /// `merge_method: metagpt` with adapters (bare directories on `base_model`, and `BASE+ADAPTER` with BASE the
    /// base_model) and `--gate`: λ from the adapters' factors equal NumPy's (to the card's 6 decimals), the gate
    /// passes, and `--stats` with an `analyze` report of the same family gives the same λ. Before, any statistics
    /// with an adapter were refused.
    @Test(arguments: [false, true])
    func metagptMergeWithAdaptersUsesFactorNorms(useReport: Bool) throws {
        let reference = try Reference()
        let work = try makeTemporaryDirectory("lora-metagpt")
        var flags = ["--gate", "max-cosine=0.5"]
        if useReport {
            let report = work.appendingPathComponent("stats.h5")
            let analyze = try MetaMergeProcess.run(
                ["analyze", "--base", Self.base.path]
                    + reference.tasks.flatMap { ["--model", "\($0.name)=\($0.path)"] } + ["-o", report.path])
            try #require(analyze.status == 0, "\(analyze.stderr)")
            flags += ["--stats", report.path]
        }
        // rslora as BASE+ADAPTER, the other adapters bare, the full fine-tune as a model directory.
        let references = reference.tasks.map { $0.name == "rslora" ? "\(Self.base.path)+\($0.path)" : $0.path }
        let yaml =
            "merge_method: metagpt\nbase_model: \(Self.base.path)\ndtype: float32\nmodels:\n"
            + references.map { "  - model: \($0)\n" }.joined()
        let (result, _, out) = try LoRAMergeTests.run(yaml, in: work, flags: flags)
        try #require(result.status == 0, "\(result.stderr)")
        let lambdas = try Self.cardLambdas(out)
        for (t, name) in references.enumerated() {
            let lambda = try #require(lambdas[name], "no λ for \(name) in \(lambdas)")
            #expect(abs(lambda - reference.lambdas[t]) <= 5.01e-7, "λ of \(name): \(lambda) vs \(reference.lambdas[t])")
        }
        let card = try String(contentsOf: out.appendingPathComponent("README.md"), encoding: .utf8)
        #expect(card.contains("max |cos| ≤ 0.5 (global): **passed**"), "\(card)")
    }

    /// A report records an adapter task by base + adapter fingerprints: a report of r4-attn is not one of rslora on
    /// the same base (both would have the base's weight files), so `merge --stats` refuses it rather than take
    /// r4-attn's norms for rslora's.
    @Test func aReportOfOneAdapterIsNotAReportOfAnother() throws {
        let work = try makeTemporaryDirectory("lora-stale-report")
        let report = work.appendingPathComponent("stats.h5")
        let add = RepositoryPaths.tinyFamily.appendingPathComponent("add").path
        let adapter = { (name: String) in Self.lora.appendingPathComponent("adapters/\(name)").path }
        let analyze = try MetaMergeProcess.run(
            ["analyze", "--base", Self.base.path, "--model", "lora=\(adapter("r4-attn"))", "--model", "add=\(add)",
             "-o", report.path])
        try #require(analyze.status == 0, "\(analyze.stderr)")
        let yaml =
            "merge_method: metagpt\nbase_model: \(Self.base.path)\nmodels:\n  - model: \(adapter("rslora"))\n"
            + "  - model: \(add)\n"
        let run = try LoRAMergeTests.run(yaml, in: work, flags: ["--stats", report.path])
        LoRAMergeTests.expectRefusal(
            run, "\(report.path): has no statistics for model '\(adapter("rslora"))' (fingerprint ")
    }

    /// An adapter on another model than base_model (`ADD+ADAPTER`) has no task vector the statistics can read from
    /// factors: MetaGPT refuses it, naming the model, rather than computing λ on other weights.
    @Test func metagptRefusesAnAdapterOnAnotherBase() throws {
        let add = RepositoryPaths.tinyFamily.appendingPathComponent("add").path
        let adapter = Self.lora.appendingPathComponent("adapters/r4-attn").path
        let yaml =
            "merge_method: metagpt\nbase_model: \(Self.base.path)\nmodels:\n  - model: \(add)+\(adapter)\n"
            + "  - model: \(add)\n"
        let run = try LoRAMergeTests.run(yaml, in: try makeTemporaryDirectory("lora-other-base"))
        LoRAMergeTests.expectRefusal(
            run, "\(run.config.path): model '\(add)+\(adapter)' is a LoRA adapter on \(add), not on base_model")
    }
}

/// `eval` and the forward pass with LoRA adapters (issue 20, item 1): a merge point θ0 + Σ c_t s_t B_t A_t of a
/// config naming adapters, against transformers on the PEFT-merged model
/// (scripts/fixtures/make_lora_eval_references.py → Tests/Fixtures/lora/eval/references.json).
@Suite("LoRA adapters in eval")
struct LoRAEvalTests {
    static let adapters = LoRAAnalysisTests.lora.appendingPathComponent("adapters")

    /// Each item's completion NLL within 1e-5 relative of transformers, and its exact-match flag and correct-token
    /// count equal, at c = 1 on r4-attn (PEFT `merge_and_unload()`) and at 0.6·r4-attn + 0.7·r8-all (r8-all written
    /// as BASE+ADAPTER). Before, the adapter's task vector was read from the base's weights (τ = 0) or refused.
    @Test(arguments: ["r4-attn", "r4-attn+r8-all"])
    func evalOfAnAdapterPointMatchesTransformers(point: String) throws {
        let base = LoRAAnalysisTests.base.path
        let models =
            point == "r4-attn"
            ? "  - model: \(Self.adapters.path)/r4-attn\n    parameters: {weight: 1.0}\n"
            : "  - model: \(Self.adapters.path)/r4-attn\n    parameters: {weight: 0.6}\n"
                + "  - model: \(base)+\(Self.adapters.path)/r8-all\n    parameters: {weight: 0.7}\n"
        let work = try makeTemporaryDirectory("lora-eval")
        let config = work.appendingPathComponent("point.yml")
        try Data("merge_method: task_arithmetic\nbase_model: \(base)\nmodels:\n\(models)".utf8).write(to: config)
        try Self.expectItemsMatch(point: point, input: config.path, in: work) { eval in
            // The report records the adapter task by its folder and a base + adapter fingerprint, not as the base.
            let paths = try eval.dataset("model_path").readStrings()
            let fingerprints = try eval.dataset("model_fingerprint").readStrings()
            #expect(paths.contains("\(Self.adapters.path)/r4-attn"), "\(paths)")
            #expect(fingerprints.filter { $0.contains("+") }.count == fingerprints.count - 1, "\(fingerprints)")
        }
    }

    /// Runs `eval INPUT` on the reference's tasks of `point` and expects each item's completion NLL within 1e-5
    /// relative of transformers, its exact-match flag and correct-token count equal; `more` checks the /eval group
    /// further.
    static func expectItemsMatch(
        point: String, input: String, in work: URL, _ more: (HDF5Group) throws -> Void = { _ in }
    ) throws {
        let url = LoRAAnalysisTests.lora.appendingPathComponent("eval/references.json")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let reference = try #require((json["points"] as? [String: Any])?[point] as? [String: Any])
        let tasks = try #require(reference["tasks"] as? [String: [String: Any]])
        let report = work.appendingPathComponent("eval.h5")
        let names = tasks.keys.sorted()
        let result = try MetaMergeProcess.run(
            ["eval", input, "-o", report.path, "--quiet"]
                + names.flatMap {
                    ["--task", "\($0)=" + RepositoryPaths.tinyFamily.appendingPathComponent("tasks/\($0).jsonl").path]
                })
        try #require(result.status == 0, "\(result.stderr)")
        let file = try HDF5File.open(at: report)
        defer { try? file.close() }
        let eval = try file.root.group("eval")
        let order = try eval.dataset("tasks").readStrings()
        let offsets = try eval.dataset("item_offsets").read(Int.self).values
        let nll = try eval.dataset("item_nll").read(Double.self).values
        let exact = try eval.dataset("item_exact").read(UInt8.self).values
        let correct = try eval.dataset("item_correct_tokens").read(Int.self).values
        #expect(Set(order) == Set(names))
        try more(eval)
        for (k, name) in order.enumerated() {
            let r = try #require(tasks[name])
            let refNLL = try #require(r["item_nll"] as? [Double])
            let refExact = try #require(r["item_exact"] as? [Int])
            let refCorrect = try #require(r["item_correct_tokens"] as? [Int])
            let range = offsets[k]..<offsets[k + 1]
            try #require(range.count == refNLL.count)
            for (i, item) in range.enumerated() {
                #expect(
                    abs(nll[item] - refNLL[i]) <= 1e-5 * refNLL[i], "\(name) item \(i): \(nll[item]) vs \(refNLL[i])")
                #expect(Int(exact[item]) == refExact[i], "\(name) item \(i) exact")
                #expect(correct[item] == refCorrect[i], "\(name) item \(i) correct tokens")
            }
        }
    }
}

/// `probe` with LoRA adapters as task models (issue 20, item 1): the chord residual per prompt against transformers
/// at θ0 + α·Δt with PEFT's update Δt (scripts/fixtures/make_lora_probe_references.py →
/// Tests/Fixtures/lora/probe/references.json).
@Suite("LoRA adapters in probe")
struct LoRAProbeTests {
    /// Each task's chord residual per prompt within 2 % of transformers'. Before, an adapter directory was refused
    /// as a task model (no config.json).
    @Test func probeChordResidualWithAdaptersMatchesTransformers() throws {
        try Self.expectChordResidualsMatch { LoRAAnalysisTests.lora.appendingPathComponent("adapters/\($0)").path }
    }

    /// Runs `probe --base BASE --model TASK=model(TASK)` for the reference's tasks and expects each task's chord
    /// residual per prompt within 2 % of transformers'.
    static func expectChordResidualsMatch(model: (String) -> String) throws {
        let url = LoRAAnalysisTests.lora.appendingPathComponent("probe/references.json")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let reference = try #require(json["chord_residual"] as? [String: [Double]])
        let alphas = try #require(json["alphas"] as? [Double])
        let tasks = ["r4-attn", "rslora"]
        let work = try makeTemporaryDirectory("lora-probe")
        let report = work.appendingPathComponent("probe.h5")
        let result = try MetaMergeProcess.run(
            ["probe", "--base", LoRAAnalysisTests.base.path] + tasks.flatMap { ["--model", "\($0)=" + model($0)] }
                + [
                    "--token-ids", RepositoryPaths.tinyFamily.appendingPathComponent("prompt-ids.txt").path,
                    "--alphas", alphas.map { "\($0)" }.joined(separator: ","), "--scales", "1", "-o", report.path,
                ])
        try #require(result.status == 0, "\(result.stderr)")
        let file = try HDF5File.open(at: report)
        defer { try? file.close() }
        let probe = try file.root.group("probe")
        #expect(try probe.dataset("tasks").readStrings() == tasks)
        let residual = try probe.dataset("chord_residual").read(Double.self)
        let prompts = residual.shape[1]
        for (t, task) in tasks.enumerated() {
            let expected = try #require(reference[task])
            try #require(expected.count == prompts)
            for k in 0..<prompts {
                let value = residual.values[t * prompts + k]
                #expect(
                    abs(value - expected[k]) <= 0.02 * expected[k], "\(task) prompt \(k): \(value) vs \(expected[k])")
            }
        }
    }
}
