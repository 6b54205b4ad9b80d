import Foundation
import Statistics
import Transformer

/// The points of a sweep: c = s·w for every weighting w and total scale s (weighting-major, scale-minor).
///
/// Weightings: `uniform` w = (1, …, 1)/T; `metagpt` w = MetaGPT's λ (λ_t = ‖τ_t‖² / Σ_k ‖τ_k‖²); an explicit
/// vector `w1:w2:…:wT` (one weight per task model, used as written — not normalised).
public struct SweepGrid: Sendable, Equatable {
    public struct Weighting: Sendable, Equatable {
        public let name: String
        public let weights: [Double]
        public init(name: String, weights: [Double]) {
            self.name = name
            self.weights = weights
        }
    }

    public let weightings: [Weighting]
    public let scales: [Double]

    public init(weightings: [Weighting], scales: [Double]) {
        self.weightings = weightings
        self.scales = scales
    }

    /// Coefficient rows in the grid's order: point (i, k) = weighting i at scale k is row i·|scales| + k, with
    /// c_t = Float(s·w_t) (the product in Float64, rounded once).
    public var points: [[Float]] {
        weightings.flatMap { w in scales.map { s in w.weights.map { Float(s * $0) } } }
    }

    /// Parses `--weights` (comma-separated `uniform`, `metagpt`, `w1:w2:…`) for `taskCount` task models, as
    /// ``SweepWeights/weightings(taskCount:metagpt:)`` does.
    ///
    /// - Parameter metagpt: MetaGPT's λ, computed by the caller only when `metagpt` is asked for
    /// (``SweepWeights/needsMetaGPT``).
    /// - Throws: ``AnalysisError/badArgument(_:cause:)`` for an unknown name, a vector of the wrong length or with a
    ///   non-finite entry, or a repeated weighting.
    public static func parseWeightings(_ text: String, taskCount: Int, metagpt: [Double]?) throws -> [Weighting] {
        try SweepWeights(parsing: text).weightings(taskCount: taskCount, metagpt: metagpt)
    }
}

/// A sweep's metrics: `metrics[i][k][e]` for weighting i, scale k and task file e.
public struct SweepResult: Sendable {
    /// The task models (the family's task names), the order of every weight vector.
    public let modelTasks: [String]
    public let grid: SweepGrid
    /// The evaluated task files' names.
    public let evalTasks: [String]
    public let taskFiles: [String]
    public let metrics: [[[TaskMetrics]]]

    public init(
        modelTasks: [String], grid: SweepGrid, evalTasks: [String], taskFiles: [String], metrics: [[[TaskMetrics]]]
    ) {
        self.modelTasks = modelTasks
        self.grid = grid
        self.evalTasks = evalTasks
        self.taskFiles = taskFiles
        self.metrics = metrics
    }

    /// The mean exact-match rate over task files at point (i, k).
    public func meanExactMatch(_ i: Int, _ k: Int) -> Double {
        let row = metrics[i][k]
        return row.reduce(0) { $0 + $1.exactMatchRate } / Double(max(row.count, 1))
    }

    /// The mean over task files of the mean NLL at point (i, k).
    public func meanNLL(_ i: Int, _ k: Int) -> Double {
        let row = metrics[i][k]
        return row.reduce(0) { $0 + $1.meanNLL } / Double(max(row.count, 1))
    }

    /// The best point (weighting, scale) for task file `e` (or for the mean over task files when `nil`): the
    /// highest exact match, ties broken by the lower NLL, then the first in grid order.
    public func best(task e: Int?) -> (weighting: Int, scale: Int) {
        var best = (0, 0)
        func key(_ i: Int, _ k: Int) -> (Double, Double) {
            if let e { return (metrics[i][k][e].exactMatchRate, metrics[i][k][e].meanNLL) }
            return (meanExactMatch(i, k), meanNLL(i, k))
        }
        for i in grid.weightings.indices {
            for k in grid.scales.indices {
                let (a, b) = key(i, k), (c, d) = key(best.0, best.1)
                if a > c || (a == c && b < d) { best = (i, k) }
            }
        }
        return best
    }

    /// Runs a sweep: every point of `grid` in one lockstep run of `evaluator`.
    public static func run(
        family modelTasks: [String], engine: LockstepEngine, grid: SweepGrid, tasks: [EvalTask],
        evaluator: CompletionEvaluator = CompletionEvaluator(), progress: (@Sendable (Int, Int) -> Void)? = nil
    ) throws -> SweepResult {
        guard !grid.scales.isEmpty else { throw AnalysisError.badArgument("--scales: no scale given") }
        let flat = try evaluator.run(engine: engine, points: grid.points, tasks: tasks, progress: progress)
        let S = grid.scales.count
        let metrics = grid.weightings.indices.map { i in grid.scales.indices.map { k in flat[i * S + k] } }
        return SweepResult(
            modelTasks: modelTasks, grid: grid, evalTasks: tasks.map(\.name), taskFiles: tasks.map(\.url.path),
            metrics: metrics)
    }
}
