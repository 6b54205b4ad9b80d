import Foundation
import HDF5
import TestSupport
import Testing

/// Reports whose numbers are impossible, incomplete or of other models, and probes that measured nothing: every
/// command that reads them (`merge --stats`, `check`, `recommend`) refuses them with exit 2 naming the file and the
/// dataset, and the gate never passes a chord residual that was not measured (issue 17, items 9 and 10).
@Suite struct TrustReportTests {
    /// The bundled family with two tasks, its analysis report and a probe written into that report.
    struct Reports {
        let family: FamilyCopy
        let statistics: URL

        init(_ label: String, tasks: [String] = ["add", "rev"], probe alphas: String? = nil) throws {
            family = try FamilyCopy(label, tasks: tasks)
            statistics = family.workspace.appendingPathComponent("stats.h5")
            let analyze = try MetaMergeProcess.run(["analyze"] + family.arguments + ["-o", statistics.path])
            try #require(analyze.status == 0, "\(analyze.stderr)")
            if let alphas {
                let probe = try MetaMergeProcess.run(
                    ["probe"] + family.arguments + [
                        "--alphas", alphas, "--scales", "1", "--random-prompts", "2", "--prompt-length", "4", "-o",
                        statistics.path,
                    ])
                try #require(probe.status == 0, "\(probe.stderr)")
            }
        }

        /// Rewrites the Float64 dataset `path` of the report in place (same number of values).
        func edit(_ path: String, _ change: (inout [Double]) -> Void) throws {
            let file = try HDF5File.open(at: statistics, mode: .readWrite)
            let dataset = try file.root.dataset(path)
            var values = try dataset.read(Double.self).values
            change(&values)
            try dataset.write(values)
            try file.close()
        }

        /// The Gram blocks `/tensors/gram` as [tensor][i * T + j].
        func editGrams(_ change: (inout [Double], Int) -> Void) throws {
            let file = try HDF5File.open(at: statistics)
            let T = try file.root.dataset("tasks").readStrings().count
            try file.close()
            try edit("tensors/gram") { values in
                for n in 0..<(values.count / (T * T)) {
                    var block = Array(values[(n * T * T)..<((n + 1) * T * T)])
                    change(&block, T)
                    values.replaceSubrange((n * T * T)..<((n + 1) * T * T), with: block)
                }
            }
        }

        /// A copy of the report at `url` without the objects named in `omitting` (e.g. `/probe/merged_gap`): HDF5
        /// cannot delete a dataset in place, so the file is rebuilt through the HDF5 module.
        func copy(to url: URL, omitting: Set<String>) throws {
            let source = try HDF5File.open(at: statistics)
            let target = try HDF5File.create(at: url)
            func copyAttributes(_ from: some HDF5Object, _ to: some HDF5Object) throws {
                for name in try from.attributeNames() {
                    switch try from.attribute(name) {
                    case .double(let v): try to.setAttribute(name, v)
                    case .int64(let v): try to.setAttribute(name, v)
                    case .string(let v): try to.setAttribute(name, v)
                    case .doubles(let v): try to.setAttribute(name, v)
                    case .int64s(let v): try to.setAttribute(name, v)
                    case .strings(let v): try to.setAttribute(name, v)
                    }
                }
            }
            func copyGroup(_ from: HDF5Group, _ to: HDF5Group, _ prefix: String) throws {
                try copyAttributes(from, to)
                for name in try from.memberNames() where !omitting.contains(prefix + name) {
                    if try from.kind(of: name) == .group {
                        try copyGroup(try from.group(name), try to.createGroup(name), prefix + name + "/")
                        continue
                    }
                    let dataset = try from.dataset(name)
                    switch try dataset.elementType {
                    case .string: try to.createDataset(name, strings: try dataset.readStrings())
                    case .float32: try to.createDataset(name, array: try dataset.read(Float.self))
                    case .int64: try to.createDataset(name, array: try dataset.read(Int64.self))
                    case .uint8: try to.createDataset(name, array: try dataset.read(UInt8.self))
                    default: try to.createDataset(name, array: try dataset.read(Double.self))
                    }
                }
            }
            try copyGroup(source.root, target.root, "/")
            try target.close()
            try source.close()
        }
    }

    /// The ways a Gram block can be impossible, each applied to every tensor's block of two tasks.
    static let impossibleGrams: [(String, @Sendable (inout [Double], Int) -> Void)] = [
        ("negative diagonal", { g, T in g[T + 1] = -g[T + 1] - 1 }),
        ("NaN entry", { g, _ in g[1] = .nan; g[2] = .nan }),
        ("infinite diagonal", { g, T in g[T + 1] = .infinity }),
        ("cosine beyond 1", { g, T in g[1] = 2 * (g[0] * g[T + 1]).squareRoot() + 1; g[T] = g[1] }),
        ("asymmetric", { g, T in g[1] = 0.5 * (g[0] * g[T + 1]).squareRoot(); g[T] = -g[1] }),
    ]

    /// `merge --stats` took λ from any report (a negative diagonal gave λ_rev < 0: the merge subtracted a task
    /// vector; a NaN gave 1/T each, printed as MetaGPT's λ). Every impossible Gram block is now exit 2 naming the
    /// report and `/tensors/gram`, and nothing is written.
    @Test(arguments: 0..<5)
    func mergeStatsRefusesImpossibleGram(_ kind: Int) throws {
        let (label, change) = Self.impossibleGrams[kind]
        let reports = try Reports("report-gram-\(kind)")
        try reports.editGrams(change)
        let config = try reports.family.config("metagpt")
        let out = reports.family.workspace.appendingPathComponent("merged")
        let result = try MetaMergeProcess.run(["merge", config.path, out.path, "--stats", reports.statistics.path])
        #expect(result.status == 2, "\(label): \(result.stdout) \(result.stderr)")
        #expect(result.stderr.contains(reports.statistics.path), "\(label): \(result.stderr)")
        #expect(result.stderr.contains("/tensors/gram"), "\(label): \(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1, "\(label): \(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out.path))
    }

    /// Three tasks whose pairwise cosines are each within ±1 but no three vectors have (0.9, 0.9, −0.9): the
    /// Gram matrix is not positive semi-definite (eigenvalue 1 − 0.9·… < 0). `check` read such a report and passed.
    @Test func checkRefusesGramThatIsNotPositiveSemidefinite() throws {
        let reports = try Reports("report-psd", tasks: ["add", "rev", "sort"])
        try reports.editGrams { g, T in
            let d = (0..<T).map { g[$0 * T + $0] }
            let cosines = [[1, 0.9, 0.9], [0.9, 1, -0.9], [0.9, -0.9, 1]]
            for i in 0..<T { for j in 0..<T { g[i * T + j] = cosines[i][j] * (d[i] * d[j]).squareRoot() } }
        }
        let result = try MetaMergeProcess.run(["check", reports.statistics.path, "--max-cosine", "1"])
        #expect(result.status == 2, "\(result.stdout) \(result.stderr)")
        #expect(result.stderr.contains("/tensors/gram["), "\(result.stderr)")
        #expect(result.stderr.contains("positive semi-definite"), "\(result.stderr)")
    }

    /// Other raw numbers of `/tensors` out of their range.
    @Test(arguments: [
        ("tensors/base_sq_norm", -1.0), ("tensors/abs_sum", Double.nan), ("tensors/max_abs", -Double.infinity),
        ("tensors/sum", Double.infinity),
    ])
    func analysisNumbersAreChecked(dataset: String, value: Double) throws {
        let reports = try Reports("report-sums")
        try reports.edit(dataset) { $0[0] = value }
        let result = try MetaMergeProcess.run(["recommend", reports.statistics.path])
        #expect(result.status == 2, "\(dataset): \(result.stdout) \(result.stderr)")
        #expect(result.stderr.contains("/" + dataset + "[0]"), "\(result.stderr)")
    }

    /// `recommend` printed `s = nan` (or a weighting named MetaGPT with undefined weights) for a corrupt report.
    @Test func recommendRefusesCorruptReportRatherThanPrintingNaN() throws {
        let reports = try Reports("report-recommend")
        try reports.editGrams { g, _ in g[0] = .nan }
        let result = try MetaMergeProcess.run(["recommend", reports.statistics.path])
        #expect(result.status == 2, "\(result.stdout) \(result.stderr)")
        #expect(!result.stdout.contains("nan"))
        #expect(result.stderr.contains("/tensors/gram[0]"), "\(result.stderr)")
    }

    /// `recommend` with a probe of other weights (same task names and count): `check` refuses it by the weight
    /// fingerprints; `recommend` took its chord residuals as this family's.
    @Test func recommendRefusesAnotherFamilysProbe() throws {
        let reports = try Reports("report-other-probe")
        let family = reports.family
        let probe = family.workspace.appendingPathComponent("other-probe.h5")
        // 'rev' here runs the weights of 'sort': another model under the same name.
        let sort = RepositoryPaths.tinyFamily.appendingPathComponent("sort").path
        let run = try MetaMergeProcess.run([
            "probe", "--base", family.model("base").path, "--model", "add=\(family.model("add").path)",
            "--model", "rev=\(sort)", "--alphas", "0,0.5,1", "--scales", "1", "--random-prompts", "1",
            "--prompt-length", "4", "-o", probe.path,
        ])
        try #require(run.status == 0, "\(run.stderr)")
        let result = try MetaMergeProcess.run(["recommend", reports.statistics.path, probe.path])
        #expect(result.status == 2, "\(result.stdout) \(result.stderr)")
        #expect(result.stderr.contains("other models"), "\(result.stderr)")
    }

    /// A report whose `/probe` lacks a dataset the schema requires: `recommend` ignored the probe silently (and
    /// `check` passed on the datasets it read); both now refuse it naming the missing dataset.
    @Test(arguments: ["/probe/merged_gap", "/probe/alphas", "/probe/chord_residual"])
    func incompleteProbeIsRefused(missing: String) throws {
        let reports = try Reports("report-incomplete", probe: "0,0.5,1")
        let damaged = reports.family.workspace.appendingPathComponent("damaged.h5")
        try reports.copy(to: damaged, omitting: [missing])
        let recommend = try MetaMergeProcess.run(["recommend", damaged.path])
        #expect(recommend.status == 2, "\(missing): \(recommend.stdout) \(recommend.stderr)")
        #expect(recommend.stderr.contains(missing), "\(recommend.stderr)")
        let check = try MetaMergeProcess.run(["check", damaged.path, damaged.path, "--max-chord-residual", "1000"])
        #expect(check.status == 2, "\(missing): \(check.stdout) \(check.stderr)")
        #expect(check.stderr.contains(missing), "\(check.stderr)")
    }

    /// Probe figures edited to impossible values (a negative chord residual; a maximum that is not its rows').
    @Test func probeNumbersAreChecked() throws {
        let reports = try Reports("report-probe-values", probe: "0,0.5,1")
        try reports.edit("probe/chord_residual_max") { $0[0] = 0 }
        let check = try MetaMergeProcess.run([
            "check", reports.statistics.path, reports.statistics.path, "--max-chord-residual", "1e-12",
        ])
        #expect(check.status == 2, "\(check.stdout) \(check.stderr)")
        #expect(check.stderr.contains("/probe/chord_residual_max[0]"), "\(check.stderr)")
        try reports.edit("probe/merged_gap") { $0[0] = -1 }
        let recommend = try MetaMergeProcess.run(["recommend", reports.statistics.path])
        #expect(recommend.status == 2, "\(recommend.stdout) \(recommend.stderr)")
    }

    /// `--alphas 0,0,0` ran (the grid became {0, 1}) and its chord residual 0.0000 passed the gate. A grid needs
    /// two distinct α: refused at argument validation, nothing written.
    @Test(arguments: ["0,0,0", "1,1"])
    func probeRefusesGridWithOneDistinctAlpha(alphas: String) throws {
        let family = try FamilyCopy("report-alphas", tasks: ["add"])
        let output = family.workspace.appendingPathComponent("p.h5")
        let result = try MetaMergeProcess.run(
            ["probe"] + family.arguments + ["--alphas", alphas, "--scales", "1", "--random-prompts", "1", "-o",
                output.path])
        #expect(result.status == 2, "\(alphas): \(result.stdout) \(result.stderr)")
        #expect(result.stderr.contains("distinct α"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: output.path))
    }

    /// A report whose α grid has no α besides 0 and 1 (a probe run with `--alphas 0,1`, or a grid edited as an
    /// older version could have written it): the chord residual is 0 whatever the model, so the gate fails it
    /// instead of passing.
    @Test(arguments: [nil, [0.0, 0.0, 0.0]] as [[Double]?])
    func gateFailsChordResidualOfGridThatMeasuredNothing(grid: [Double]?) throws {
        let reports = try Reports("report-grid", probe: grid == nil ? "0,1" : "0,0.5,1")
        if let grid { try reports.edit("probe/alphas") { $0 = grid } }
        let path = reports.statistics.path
        let result = try MetaMergeProcess.run(["check", path, path, "--max-chord-residual", "1000"])
        #expect(result.status == 1, "\(result.stdout) \(result.stderr)")
        #expect(result.stdout.contains("α grid measured nothing"), "\(result.stdout)")
        // The other linearity figures do not depend on the grid: they are still checked and can pass.
        let taylor = try MetaMergeProcess.run(["check", path, path, "--max-taylor-error", "1000"])
        #expect(taylor.status == 0, "\(taylor.stdout) \(taylor.stderr)")
    }
}

/// `tokenizer.json` components whose work grows without bound end in one error naming the component and the limit
/// (README, "Tokenizers: limits"), in about a second, instead of a hang or an unbounded allocation (issue 17,
/// item 8).
@Suite struct TokenizerWorkLimitTests {
    /// A model directory holding only a tokenizer.json: a WordLevel model (an unknown word is one `<unk>` id, so
    /// the model's own work stays small) behind `normalizer` and `preTokenizer`.
    static func tokenizer(_ label: String, normalizer: Any = NSNull(), preTokenizer: Any = NSNull()) throws -> URL {
        let directory = try makeTemporaryDirectory(label)
        let json: [String: Any] = [
            "added_tokens": [], "normalizer": normalizer, "pre_tokenizer": preTokenizer,
            "model": ["type": "WordLevel", "vocab": ["<unk>": 0, "a": 1, "b": 2], "unk_token": "<unk>"],
        ]
        try JSONSerialization.data(withJSONObject: json).write(to: directory.appendingPathComponent("tokenizer.json"))
        return directory
    }

    /// A Sequence of `Replace` "a" → "aa": one character becomes 2^steps bytes. 21 steps (2 MiB) passed before; 40
    /// (2^40 bytes) never ended. Both stop at the documented output limit, 1 MiB + 64 × the input's bytes.
    @Test(arguments: [21, 40])
    func replaceNormalizerThatDoublesIsRefused(steps: Int) throws {
        let doubling: [String: Any] = ["type": "Replace", "pattern": ["String": "a"], "content": "aa"]
        let directory = try Self.tokenizer(
            "limit-replace", normalizer: ["type": "Sequence", "normalizers": Array(repeating: doubling, count: steps)])
        let started = Date()
        let result = try MetaMergeProcess.run(["tokenize", directory.path, "a"])
        #expect(result.status == 2, "\(result.stdout.prefix(200)) \(result.stderr)")
        #expect(result.stderr.contains("tokenizer.json: normalizer Replace"), "\(result.stderr)")
        #expect(result.stderr.contains("output would exceed 1048640 bytes"), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
        #expect(Date().timeIntervalSince(started) < 10)
    }

    /// A Split regex with catastrophic backtracking: `(a+)+$` took 15–19 s on 41 characters and over a minute on
    /// 5 000. The matching-step limit (1 000 000 + 1 000 per UTF-16 unit) ends it in about a second.
    @Test(arguments: [40, 5_000])
    func splitRegexThatBacktracksIsBounded(length: Int) throws {
        let directory = try Self.tokenizer(
            "limit-regex",
            preTokenizer: ["type": "Split", "pattern": ["Regex": "(a+)+$"], "behavior": "Isolated", "invert": false])
        let started = Date()
        let result = try MetaMergeProcess.run(
            ["tokenize", directory.path, String(repeating: "a", count: length) + "b"])
        let elapsed = Date().timeIntervalSince(started)
        #expect(result.status == 2, "\(result.stdout.prefix(200)) \(result.stderr)")
        #expect(result.stderr.contains("tokenizer.json: pre_tokenizer Split"), "\(result.stderr)")
        #expect(result.stderr.contains("(a+)+$") && result.stderr.contains("matching steps"), "\(result.stderr)")
        #expect(elapsed < 10, "took \(elapsed) s")
    }

    /// The same pattern where it does not backtrack (the text ends in "a": the first attempt matches) is encoded.
    @Test func splitRegexWithinTheLimitStillMatches() throws {
        let directory = try Self.tokenizer(
            "limit-regex-ok",
            preTokenizer: ["type": "Split", "pattern": ["Regex": "(a+)+$"], "behavior": "Isolated", "invert": false])
        let result = try MetaMergeProcess.run(["tokenize", directory.path, "b" + String(repeating: "a", count: 5_000)])
        #expect(result.status == 0, "\(result.stderr)")
        // "b" then the 5 000 a's as one word: both unknown but "b", so ids [2, 0].
        #expect(result.stdout.contains("[2,0]") || result.stdout.contains("[2, 0]"), "\(result.stdout.prefix(300))")
    }
}
