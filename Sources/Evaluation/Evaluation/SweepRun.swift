import Checkpoints
import Foundation
import Statistics

/// "Run this sweep": the grid c = s·w (scales × weightings) on a family, scored on task files in one lockstep run
/// (``SweepResult/run(family:engine:grid:tasks:evaluator:progress:)``), written as `/sweep` into a report
/// (``EvaluationReport``).
public struct SweepRun {
    public let family: ModelFamily
    /// `NAME=FILE.jsonl` task arguments.
    public let tasks: [String]
    public let scales: [Double]
    /// Weightings, comma-separated: `uniform`, `metagpt`, `w1:w2:…` (checked against the family by
    /// ``SweepWeights/weightings(taskCount:metagpt:)`` when the sweep runs).
    public let weights: SweepWeights
    /// The report to write (or an analysis / probe report to add `/sweep` to).
    public let report: URL
    /// MetaGPT's λ when the caller knows them; else ``FamilyLambdas`` resolves them (the analysis report at
    /// ``report`` when it describes these weights, else the norms-only pass), only when a weighting needs them.
    public var lambdas: [Double]?
    public var evaluator = CompletionEvaluator()

    public init(family: ModelFamily, tasks: [String], scales: [Double], weights: SweepWeights, report: URL) {
        self.family = family
        self.tasks = tasks
        self.scales = scales
        self.weights = weights
        self.report = report
    }

    /// Runs the sweep and writes the report; nothing is written when anything fails.
    ///
    /// - Parameters:
    ///   - info: one-line notes for the user (where λ came from, the run's layout and estimated peak memory).
    ///   - progress: called with (done, total) steps of the run.
    /// - Throws: ``AnalysisError`` for a report path that may not be written, bad weightings or task files, a run
    ///   over the evaluator's memory limit; read errors.
    public func run(
        info: (String) -> Void = { _ in }, progress: (@Sendable (Int, Int) -> Void)? = nil
    ) throws -> SweepResult {
        let target = try EvaluationTarget(family: family, point: [])
        try AnalysisReport.checkDestination(report, inputs: target.inputs + target.taskURLs(tasks))
        var lambdas = lambdas
        if lambdas == nil, weights.needsMetaGPT {
            let resolved = try FamilyLambdas.resolve(family, report: report)
            if resolved.source != .normsPass { info("MetaGPT λ read from \(report.path)") }
            lambdas = resolved.lambdas
        }
        let grid = SweepGrid(
            weightings: try weights.weightings(taskCount: family.tasks.count, metagpt: lambdas),
            scales: scales)
        let taskList = try target.loadTasks(tasks)
        let plan = try evaluator.plan(
            engine: target.engine, points: grid.points.count, items: taskList.flatMap(\.items))
        info(
            String(
                format: "%d points × %d items in %d batch(es), lockstep groups of %d; estimated peak %.2f GB",
                grid.points.count, taskList.reduce(0) { $0 + $1.items.count }, plan.batches.count, plan.groupSize,
                Double(plan.peakBytes) / 1e9))
        let result = try SweepResult.run(
            family: family.taskNames, engine: target.engine, grid: grid, tasks: taskList, evaluator: evaluator,
            progress: progress)
        try EvaluationReport.write(result, provenance: try target.provenance(), to: report)
        return result
    }
}
