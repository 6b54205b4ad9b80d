import Foundation
import HDF5

/// The probe's HDF5 form: the `/probe` group of the schema (`docs/hdf5-schema.md`).
public enum ProbeReport {
    /// The datasets every `/probe` group holds (`docs/hdf5-schema.md`); `prompt_texts` and `curve_tokens` are
    /// optional, and `model_role`, `model_path`, `model_fingerprint` are missing from reports of older versions
    /// (which the gate and `recommend` then refuse by name).
    static let requiredDatasets = [
        "tasks", "pairs", "alphas", "prompts", "prompt_token_ids", "prompt_offsets", "chord_residual",
        "chord_residual_max", "taylor_error", "taylor_error_max", "r_squared", "additivity_gap", "additivity_gap_max",
        "scales", "metagpt_lambda", "merged_gap", "curves", "curve_coordinates",
    ]

    /// What the gate and `recommend` read from `/probe`, after the checks of ``read(_:path:)``.
    package struct Contents {
        package let tasks: [String]
        package let pairs: [String]
        package let alphas: [Double]
        package let promptCount: Int
        package let chordResidualMax: [Double]
        package let taylorErrorMax: [Double]
        package let additivityGapMax: [Double]
        package let scales: [Double]
        /// [scale · promptCount + prompt].
        package let mergedGap: [Double]
        package let lambdas: [Double]
        /// Empty when the report records no models (an older version).
        package let models: [Provenance.Model]
    }

    /// Reads `/probe` of `file` and checks it once: every dataset the schema requires is present; the task, pair,
    /// prompt and scale counts agree across datasets (per-prompt metrics [T, Q], [P, Q], [S, Q] with P = T(T−1)/2);
    /// α, scales and λ are finite (λ ≥ 0, summing to 1 within 1e-6); every metric is ≥ 0 or NaN (undefined), and
    /// each maximum over prompts is its row's maximum (NaN when the row holds a NaN); the recorded models are `base`
    /// then the tasks.
    ///
    /// - Throws: ``AnalysisError/badReport(path:detail:cause:)`` naming the dataset.
    package static func read(_ file: HDF5File, path: String) throws -> Contents {
        func bad(_ detail: String) -> AnalysisError { .badReport(path: path, detail: detail) }
        do {
            guard try file.root.exists("probe") else {
                throw bad("has no /probe group (write one with metamerge probe)")
            }
            let probe = try file.root.group("probe")
            let missing = try requiredDatasets.filter { try !probe.exists($0) }
            guard missing.isEmpty, try probe.hasAttribute("h") else {
                let names = missing.map { "/probe/\($0)" } + (try probe.hasAttribute("h") ? [] : ["attribute h"])
                throw bad(
                    "incomplete /probe group: no \(names.joined(separator: ", ")) (docs/hdf5-schema.md); re-run "
                        + "metamerge probe")
            }
            func doubles(_ name: String, count: Int) throws -> [Double] {
                let values = try probe.dataset(name).read(Double.self).values
                guard values.count == count else {
                    throw bad("/probe/\(name) has \(values.count) values; expected \(count)")
                }
                return values
            }
            let tasks = try probe.dataset("tasks").readStrings()
            let T = tasks.count
            guard T > 0, Set(tasks).count == T else {
                throw bad("/probe/tasks holds \(tasks); expected one or more distinct task names")
            }
            let pairs = try probe.dataset("pairs").readStrings()
            let P = T * (T - 1) / 2
            guard pairs.count == P else {
                throw bad("/probe/pairs has \(pairs.count) entries; expected \(P) for \(T) tasks")
            }
            let offsets = try probe.dataset("prompt_offsets").read(Int64.self).values
            let tokens = try probe.dataset("prompt_token_ids").read(Int64.self).values
            guard offsets.count >= 2, offsets.first == 0, offsets.last == Int64(tokens.count),
                zip(offsets, offsets.dropFirst()).allSatisfy({ $0 <= $1 })
            else {
                throw bad(
                    "/probe/prompt_offsets must rise from 0 to the \(tokens.count) prompt tokens with one entry per "
                        + "prompt boundary (found \(offsets.count) entries)")
            }
            let Q = offsets.count - 1
            let alphas = try probe.dataset("alphas").read(Double.self).values
            guard !alphas.isEmpty, alphas.allSatisfy(\.isFinite) else {
                throw bad("/probe/alphas = \(alphas); expected finite α")
            }
            let scales = try probe.dataset("scales").read(Double.self).values
            guard !scales.isEmpty, scales.allSatisfy(\.isFinite) else {
                throw bad("/probe/scales = \(scales); expected finite scales")
            }
            let lambdas = try doubles("metagpt_lambda", count: T)
            guard lambdas.allSatisfy({ $0.isFinite && $0 >= 0 }), abs(lambdas.reduce(0, +) - 1) <= 1e-6 else {
                throw bad("/probe/metagpt_lambda = \(lambdas); expected MetaGPT's λ: finite, ≥ 0, summing to 1")
            }
            var maxima: [String: [Double]] = [:]
            for (name, rows, names) in [
                ("chord_residual", T, tasks), ("taylor_error", T, tasks), ("additivity_gap", P, pairs),
            ] {
                let values = try doubles(name, count: rows * Q)
                let maximum = try doubles(name + "_max", count: rows)
                try ReportValidation.checkMetric(values, names: [], path: path, dataset: "/probe/\(name)")
                try ReportValidation.checkMetric(maximum, names: names, path: path, dataset: "/probe/\(name)_max")
                for r in 0..<rows {
                    let row = values[(r * Q)..<((r + 1) * Q)]
                    let expected = row.contains { $0.isNaN } ? Double.nan : row.max()!
                    guard maximum[r] == expected || (maximum[r].isNaN && expected.isNaN) else {
                        throw bad(
                            "/probe/\(name)_max[\(r)] ('\(names[r])') = \(maximum[r]) but the maximum of "
                                + "/probe/\(name)[\(r)] over prompts is \(expected)")
                    }
                }
                maxima[name] = maximum
            }
            let mergedGap = try doubles("merged_gap", count: scales.count * Q)
            try ReportValidation.checkMetric(mergedGap, names: [], path: path, dataset: "/probe/merged_gap")
            _ = try doubles("r_squared", count: T * Q)
            var models: [Provenance.Model] = []
            if try probe.exists("model_fingerprint") {
                let roles = try probe.dataset("model_role").readStrings()
                let paths = try probe.dataset("model_path").readStrings()
                let prints = try probe.dataset("model_fingerprint").readStrings()
                guard roles.isEmpty || roles == ["base"] + tasks, paths.count == roles.count,
                    prints.count == roles.count
                else {
                    throw bad(
                        "/probe/model_role, model_path, model_fingerprint must list base then the tasks \(tasks) "
                            + "(found roles \(roles))")
                }
                models = (0..<roles.count).map {
                    Provenance.Model(role: roles[$0], path: paths[$0], fingerprint: prints[$0])
                }
            }
            return Contents(
                tasks: tasks, pairs: pairs, alphas: alphas, promptCount: Q,
                chordResidualMax: maxima["chord_residual"]!, taylorErrorMax: maxima["taylor_error"]!,
                additivityGapMax: maxima["additivity_gap"]!, scales: scales, mergedGap: mergedGap, lambdas: lambdas,
                models: models)
        } catch let error as AnalysisError {
            throw error
        } catch {
            throw AnalysisError.badReport(path: path, detail: "incomplete /probe group: \(error)", cause: error)
        }
    }

    /// Reads the per-task and per-pair linearity maxima the gate checks, the α grid, and the models the probe ran.
    ///
    /// - Throws: ``AnalysisError/badReport(path:detail:cause:)`` for a report without a complete, consistent
    ///   `/probe` group (the checks of ``read(_:path:)``), naming the dataset.
    public static func readSummary(from url: URL) throws -> LinearitySummary {
        let file = try AnalysisReport.openReport(url)
        defer { try? file.close() }
        let probe = try read(file, path: url.path)
        return LinearitySummary(
            chordResidual: Array(zip(probe.tasks, probe.chordResidualMax)),
            taylorError: Array(zip(probe.tasks, probe.taylorErrorMax)),
            additivityGap: Array(zip(probe.pairs, probe.additivityGapMax)), models: probe.models, alphas: probe.alphas)
    }
}
