import Evaluation
import Foundation
import Statistics
import Testing

/// The data-free recommendation on statistics built so that every number is known by hand.
@Suite("Recommendation: a merge point from the statistics and the probe")
struct RecommendationTests {
    /// One tensor whose global Gram matrix is `entries` (row-major T × T).
    static func statistics(_ entries: [Double], tasks: [String]) -> TaskVectorStatistics {
        var moments = TaskVectorMoments(taskCount: tasks.count)
        moments.gram = GramMatrix(count: tasks.count, entries: entries)
        return TaskVectorStatistics(
            taskNames: tasks, tensors: [TensorStatistics(name: "w", shape: [4], trimmed: false, moments: moments)],
            problems: [], provenance: Provenance(toolVersion: "t", createdUTC: "t", commandLine: "t", models: []))
    }

    /// Orthogonal τ with ‖τ‖² = 4, 1, 4: c* = (1, 1, 1), s* = 3; λ = (4/9, 1/9, 4/9) gives 'b' 1/9 < 0.6/3, so
    /// uniform weights and a warning naming 'b' (‖τ‖ 0.50 of the largest); chord residuals 0.1 (no per-prompt
    /// medians or additivity gaps given) give κ = 4 · 3 · (1/3)² · 0.1 = 0.4/3 and cap s at 0.1 / κ = 0.75.
    @Test func orthogonalWithAShortTaskVector() {
        let stats = Self.statistics([4, 0, 0, 0, 1, 0, 0, 0, 4], tasks: ["a", "b", "c"])
        let free = Recommendation.make(statistics: stats)
        #expect(free.weightingName == "uniform")
        #expect(abs(free.linearScale - 3) < 1e-12)
        #expect(abs(free.scale - 3) < 1e-12)
        #expect(free.warnings.contains { $0.contains("'b' λ = 0.11") && $0.contains("0.50 of the largest") })
        #expect(free.warnings.contains { $0.contains("No probe report") })
        let probe = ProbeCurve(
            scales: [1, 2], medianGap: [0.1, 0.3], lambdas: [4.0 / 9, 1.0 / 9, 4.0 / 9],
            chordResidualMax: [0.1, 0.1, 0.1])
        let capped = Recommendation.make(statistics: stats, probe: probe)
        #expect(abs(capped.scale - 0.75) < 1e-12)
        #expect(capped.coefficients.allSatisfy { abs($0 - 0.25) < 1e-12 })
    }

    /// Balanced λ keep MetaGPT's weights; overlapping τ (cosine ½, equal norms) give c* = G⁻¹ diag(G):
    /// G = [[1, ½], [½, 1]], c* = (⅔, ⅔), s* = 4/3.
    @Test func overlappingBalancedTasks() {
        let stats = Self.statistics([1, 0.5, 0.5, 1], tasks: ["a", "b"])
        let r = Recommendation.make(statistics: stats)
        #expect(r.weightingName == "metagpt")
        #expect(r.weights == [0.5, 0.5])
        #expect(abs(r.scale - 4.0 / 3) < 1e-12)
    }
}
