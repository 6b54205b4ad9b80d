import Foundation
import Statistics
import Testing

@testable import Evaluation

/// The data-free rule's scale cap (per-prompt medians of chord residuals and additivity gaps), its expected shortfall
/// and its abstention, on statistics and probes whose numbers are known by hand.
@Suite("Datafree: the data-free rule reads medians, interference and the merged-point gap")
struct DatafreeRecommendationTests {
    /// Orthogonal τ with ‖τ‖² = 1, 1, 1: MetaGPT λ = 1/3 each (balanced), c* = (1, 1, 1), s* = 3.
    static let stats = RecommendationTests.statistics([1, 0, 0, 0, 1, 0, 0, 0, 1], tasks: ["a", "b", "c"])

    /// Every pair's median additivity gap `g` as a T × T matrix.
    static func pairs(_ g: Double) -> [Double] { [0, g, g, g, 0, g, g, g, 0] }

    /// A probe of three tasks at λ = 1/3 each, the merged-point gap `gap` at scales `scales`.
    static func probe(
        scales: [Double] = [0.5, 1], gap: [Double] = [0.1, 0.3], maxima: [Double], medians: [Double]? = nil,
        pairGap: Double? = nil
    ) -> ProbeCurve {
        ProbeCurve(
            scales: scales, medianGap: gap, lambdas: [1.0 / 3, 1.0 / 3, 1.0 / 3], chordResidualMax: maxima,
            chordResidualMedian: medians, additivityGapMedian: pairGap.map(pairs))
    }

    /// One prompt with a chord residual of 0.8 along 'a' (the maximum) does not set the scale: the medians 0.05
    /// and the pair gaps 0.15 give κ = 4 · 3 · (1/3)² · 0.05 + 2 · 3 · (1/3)² · 0.15 = 1/15 + 1/10 = 1/6, and the
    /// cap 0.1 / κ = 0.6. The maxima alone (the previous rule's input) would give κ = 4 · (1/9) · 0.9 = 0.4 and
    /// s = 0.25; the medians without the pairs, s = 1.5.
    @Test func outlierPromptDoesNotSetTheScaleAndPairsDo() {
        let probe = Self.probe(maxima: [0.8, 0.05, 0.05], medians: [0.05, 0.05, 0.05], pairGap: 0.15)
        let r = Recommendation.make(statistics: Self.stats, probe: probe)
        #expect(r.weightingName == "metagpt")
        #expect(abs(r.linearScale - 3) < 1e-12)
        #expect(abs((r.secondOrderRate ?? 0) - 1.0 / 6) < 1e-12)
        #expect(abs(r.scale - 0.6) < 1e-12)
        // The merged-point gap 0.1 at s = 0.5 and 0.3 at s = 1, read at 0.6: 0.14.
        #expect(abs((r.expectedShortfall ?? 0) - 0.14) < 1e-12)
        #expect(!r.abstains)
        #expect(r.reason.contains { $0.contains("a 0.050, b 0.050, c 0.050") && $0.contains("medians") })
        #expect(r.reason.contains { $0.contains("a·b 0.150") && $0.contains("κ = 0.1667") })
        #expect(r.reason.contains { $0.contains("0.140") && $0.contains("abstains above 0.25") })

        let maxima = Self.probe(maxima: [0.8, 0.05, 0.05])
        #expect(abs(Recommendation.make(statistics: Self.stats, probe: maxima).scale - 0.25) < 1e-12)
        let noPairs = Self.probe(maxima: [0.8, 0.05, 0.05], medians: [0.05, 0.05, 0.05])
        #expect(abs(Recommendation.make(statistics: Self.stats, probe: noPairs).scale - 1.5) < 1e-12)
    }

    /// A merged-point gap above 0.25 at the pick (0.3 + 0.2 · 0.2 = 0.34 at s = 0.6) makes the rule abstain, naming
    /// the labelled items `sweep` needs; the point is still computed. Past the curve's ends the gap is held.
    @Test func abstainsWhenTheMergedPointIsFarFromLinear() {
        let probe = Self.probe(
            scales: [1, 0.5], gap: [0.5, 0.3], maxima: [0.05, 0.05, 0.05], medians: [0.05, 0.05, 0.05], pairGap: 0.15)
        let r = Recommendation.make(statistics: Self.stats, probe: probe)
        #expect(abs((r.expectedShortfall ?? 0) - 0.34) < 1e-12)
        #expect(r.abstains)
        #expect(abs(r.scale - 0.6) < 1e-12)
        #expect(
            r.reason.last?.contains("No reliable data-free point") == true
                && r.reason.last?.contains("\(Recommendation.labelledItemsNeeded) labelled items per task") == true)
        #expect(abs(Recommendation.interpolate([(0.5, 0.3), (1, 0.5)], at: 3) - 0.5) < 1e-12)
        #expect(abs(Recommendation.interpolate([(0.5, 0.3), (1, 0.5)], at: 0.1) - 0.3) < 1e-12)
        // Without a probe there is no shortfall estimate and no abstention.
        let free = Recommendation.make(statistics: Self.stats)
        #expect(free.expectedShortfall == nil && !free.abstains)
    }

    /// The reason for uniform weights names the task MetaGPT would shrink (λ_b = 1/9 < 0.6/3), not its index.
    @Test func uniformReasonNamesTheShortTask() {
        let r = Recommendation.make(
            statistics: RecommendationTests.statistics([4, 0, 0, 0, 1, 0, 0, 0, 4], tasks: ["a", "b", "c"]))
        #expect(r.reason.contains { $0.contains("MetaGPT would shrink 'b' below 60 %") }, "\(r.reason)")
    }

    /// A probe listing its tasks as c, a, b: aligning it to the statistics' a, b, c moves each pair's gap with its
    /// pair (a·b 0.1, a·c 0.2, b·c 0.3 in any order) and each task's median with its task.
    @Test func alignmentKeepsPairsWithTheirTasks() throws {
        // In the probe's order (c, a, b): c·a 0.2, c·b 0.3, a·b 0.1.
        let gaps = [0, 0.2, 0.3, 0.2, 0, 0.1, 0.3, 0.1, 0]
        let probe = ProbeCurve(
            scales: [1], medianGap: [0.1], lambdas: [0.2, 0.5, 0.3], chordResidualMax: [0.3, 0.1, 0.2],
            taskNames: ["c", "a", "b"], chordResidualMedian: [0.03, 0.01, 0.02], additivityGapMedian: gaps)
        let aligned = try probe.aligned(to: Self.stats)
        #expect(aligned.chordResidualMedian == [0.01, 0.02, 0.03])
        #expect(aligned.additivityGapMedian == [0, 0.1, 0.2, 0.1, 0, 0.3, 0.2, 0.3, 0])
    }
}
