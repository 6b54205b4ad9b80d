import Foundation
import HDF5
import Statistics

/// The HDF5 form of `eval` (`/eval`) and `sweep` (`/sweep`) — `docs/hdf5-schema.md`.
///
/// Destination rules (after ``AnalysisReport/checkDestination(_:inputs:)``): a new path gets a new report; an
/// existing MetaMerge report without the group gets it added (its other groups — /tensors, /probe — are kept, so a
/// sweep can sit beside the probe it is read with); an existing report that holds only `eval`/`sweep` groups is
/// replaced; one that already has the group beside other results is refused (HDF5 cannot drop a group in place).
public enum EvaluationReport {
    /// Writes `/sweep`.
    public static func write(_ result: SweepResult, provenance: Provenance, to url: URL) throws {
        try write(group: "sweep", provenance: provenance, to: url) { root in
            let sweep = try root.createGroup("sweep")
            let W = result.grid.weightings.count, S = result.grid.scales.count, E = result.evalTasks.count
            let M = result.modelTasks.count
            try sweep.createDataset("model_tasks", strings: result.modelTasks)
            try sweep.createDataset("weightings", strings: result.grid.weightings.map(\.name))
            try sweep.createDataset("weights", values: result.grid.weightings.flatMap(\.weights), shape: [W, M])
            try sweep.createDataset("scales", values: result.grid.scales)
            let points = result.grid.points
            try sweep.createDataset("coefficients", values: points.flatMap { $0 }, shape: [W, S, M])
            try writeTasks(
                sweep, names: result.evalTasks, files: result.taskFiles, metrics: result.metrics.first?.first ?? [])
            func put(_ name: String, _ value: (TaskMetrics) -> Double) throws {
                try sweep.createDataset(
                    name, values: result.metrics.flatMap { $0.flatMap { $0.map(value) } }, shape: [W, S, E])
            }
            func putInt(_ name: String, _ value: (TaskMetrics) -> Int) throws {
                try sweep.createDataset(
                    name, values: result.metrics.flatMap { $0.flatMap { $0.map { Int64(value($0)) } } },
                    shape: [W, S, E])
            }
            try putInt("exact_match", \.exactMatch)
            try put("exact_match_rate", \.exactMatchRate)
            try putInt("correct_tokens", \.correctTokens)
            try put("token_accuracy", \.tokenAccuracy)
            try put("mean_nll", \.meanNLL)
            try writeSweepItems(sweep, result)
            try sweep.createDataset(
                "mean_exact_match_rate", values: (0..<W).flatMap { i in (0..<S).map { result.meanExactMatch(i, $0) } },
                shape: [W, S])
            try sweep.createDataset(
                "mean_nll_over_tasks", values: (0..<W).flatMap { i in (0..<S).map { result.meanNLL(i, $0) } },
                shape: [W, S])
            let best = result.best(task: nil)
            try sweep.setAttribute("best_weighting", result.grid.weightings[best.weighting].name)
            try sweep.setAttribute("best_scale", result.grid.scales[best.scale])
            try writeModels(sweep, provenance.models)
        }
    }

    /// The per-item results of a sweep: `item_offsets` [E + 1] (task e's items are columns
    /// `item_offsets[e] ..< item_offsets[e + 1]`), `item_exact` uint8 [W, S, items] and `item_nll` f64 [W, S, items],
    /// so that a subsample of the items can be scored without running the sweep again.
    static func writeSweepItems(_ sweep: HDF5Group, _ result: SweepResult) throws {
        let W = result.grid.weightings.count, S = result.grid.scales.count
        let first = result.metrics.first?.first ?? []
        var offsets: [Int64] = [0]
        for m in first { offsets.append(offsets.last! + Int64(m.items)) }
        let items = Int(offsets.last!)
        try sweep.createDataset("item_offsets", values: offsets)
        try sweep.createDataset(
            "item_exact",
            values: result.metrics.flatMap { $0.flatMap { $0.flatMap { $0.itemExact.map { UInt8($0 ? 1 : 0) } } } },
            shape: [W, S, items])
        try sweep.createDataset(
            "item_nll", values: result.metrics.flatMap { $0.flatMap { $0.flatMap(\.itemNLL) } }, shape: [W, S, items])
    }

    /// Writes `/eval`: the metrics of one point on every task file (`coefficients` when the point is a merge of a
    /// family, with the family's task names).
    public static func write(
        _ metrics: [TaskMetrics], tasks: [EvalTask], modelTasks: [String], coefficients: [Double],
        provenance: Provenance, to url: URL
    ) throws {
        try write(group: "eval", provenance: provenance, to: url) { root in
            let eval = try root.createGroup("eval")
            try eval.createDataset("model_tasks", strings: modelTasks)
            try eval.createDataset("coefficients", values: coefficients)
            try writeTasks(eval, names: tasks.map(\.name), files: tasks.map(\.url.path), metrics: metrics)
            try eval.createDataset("exact_match", values: metrics.map { Int64($0.exactMatch) })
            try eval.createDataset("correct_tokens", values: metrics.map { Int64($0.correctTokens) })
            try eval.createDataset("token_accuracy", values: metrics.map(\.tokenAccuracy))
            try eval.createDataset("mean_nll", values: metrics.map(\.meanNLL))
            var offsets: [Int64] = [0]
            for m in metrics { offsets.append(offsets.last! + Int64(m.items)) }
            try eval.createDataset("item_offsets", values: offsets)
            try eval.createDataset("item_nll", values: metrics.flatMap(\.itemNLL))
            try eval.createDataset("item_exact", values: metrics.flatMap { $0.itemExact.map { UInt8($0 ? 1 : 0) } })
            try eval.createDataset(
                "item_correct_tokens", values: metrics.flatMap { $0.itemCorrectTokens.map(Int64.init) })
            try writeModels(eval, provenance.models)
        }
    }

    static func writeTasks(_ group: HDF5Group, names: [String], files: [String], metrics: [TaskMetrics]) throws {
        try group.createDataset("tasks", strings: names)
        try group.createDataset("task_files", strings: files)
        try group.createDataset("items", values: metrics.map { Int64($0.items) })
        try group.createDataset("completion_tokens", values: metrics.map { Int64($0.completionTokens) })
    }

    static func writeModels(_ group: HDF5Group, _ models: [Provenance.Model]) throws {
        try group.createDataset("model_role", strings: models.map(\.role))
        try group.createDataset("model_path", strings: models.map(\.path))
        try group.createDataset("model_fingerprint", strings: models.map(\.fingerprint))
    }

    static func write(group: String, provenance: Provenance, to url: URL, _ body: (HDF5Group) throws -> Void) throws {
        var existing: HDF5File? =
            FileManager.default.fileExists(atPath: url.path) ? try? AnalysisReport.openReport(url) : nil
        var members: [String] = []
        if let file = existing { members = (try? file.root.memberNames()) ?? [] }
        try existing?.close()
        let ownOnly = Set(members).isSubset(of: ["tasks", "eval", "sweep"])
        if existing != nil && ownOnly { existing = nil }
        if existing != nil && members.contains(group) {
            throw AnalysisError.badArgument(
                "\(url.path) already has a /\(group) group beside other results; write to another -o file")
        }
        if existing != nil {
            // The other results are copied as they are: an analysis is checked through its reader first.
            if members.contains("tensors") { _ = try AnalysisReport.read(from: url) }
            try AnalysisReport.writeAtomically(to: url, copying: url) { try body($0.root) }
        } else {
            try AnalysisReport.writeAtomically(to: url) { file in
                try AnalysisReport.writeRootAttributes(file.root, provenance: provenance)
                try body(file.root)
            }
        }
    }
}
