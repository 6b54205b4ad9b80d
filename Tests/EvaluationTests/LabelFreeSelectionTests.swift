import Evaluation
import Foundation
import Testing

/// ``LabelFreeSelection`` on hand-made scores: each criterion's pick, stability from neighbouring scales, the
/// expected shortfall's documented parts and the abstention.
@Suite("Label-free: picks, expected shortfall and abstention")
struct LabelFreeSelectionTests {
    static func score(_ agreement: Double, kl: Double, entropy: Double, argmax: [Int], prompts: Int = 10)
        -> LabelFreeEvaluator.TaskScore
    {
        LabelFreeEvaluator.TaskScore(
            agreement: agreement, tokenAgreement: agreement, meanKL: kl, meanEntropy: entropy, argmax: argmax,
            prompts: prompts)
    }

    static func candidate(_ s: Double, _ a: Double, kl: Double, entropy: Double, argmax: [Int], prompts: Int = 10)
        -> LabelFreeSelection.Candidate
    {
        LabelFreeSelection.Candidate(
            weighting: "uniform", weights: [0.5, 0.5], scale: s,
            scores: [
                score(a, kl: kl, entropy: entropy, argmax: argmax, prompts: prompts),
                score(a, kl: kl, entropy: entropy, argmax: argmax, prompts: prompts),
            ])
    }

    @Test func picksFollowTheirCriteria() {
        let selection = LabelFreeSelection(candidates: [
            Self.candidate(0.5, 0.6, kl: 0.3, entropy: 0.9, argmax: [1, 2, 3, 4]),
            Self.candidate(1.0, 0.9, kl: 0.2, entropy: 0.5, argmax: [1, 2, 3, 4]),
            Self.candidate(1.5, 0.9, kl: 0.1, entropy: 0.4, argmax: [1, 2, 3, 5]),
            Self.candidate(2.0, 0.7, kl: 0.4, entropy: 0.1, argmax: [9, 9, 9, 9]),
        ])
        #expect(selection.picks[.agreement] == 2)  // tie at 0.9, lower KL
        #expect(selection.picks[.kl] == 2)
        #expect(selection.picks[.entropy] == 3)
        // Stability: 0 → [1] 1.0; 1 → mean(1.0, 0.75); 2 → mean(0.75, 0); 3 → 0.
        #expect(selection.candidates[0].stability == 1)
        #expect(selection.candidates[1].stability == 0.875)
        #expect(selection.candidates[2].stability == 0.375)
        #expect(selection.picks[.stability] == 0)
        // σ = √(2·0.9·0.1/10)/2, d = mean(0, 0.9 − 0.6)… over kl (0) and stability (0.3), f = mean(0, 0.2)/2.
        let sigma = (2 * 0.9 * 0.1 / 10).squareRoot() / 2
        #expect(abs(selection.sampling - sigma) < 1e-12)
        #expect(abs(selection.disagreement - 0.15) < 1e-12)
        #expect(abs(selection.flatness - 0.05) < 1e-12)
        #expect(abs(selection.expectedShortfall - (sigma * sigma + 0.15 * 0.15 + 0.05 * 0.05).squareRoot()) < 1e-12)
        #expect(selection.recommended == nil)
    }

    @Test func aSharpAgreedPeakIsRecommended() {
        let selection = LabelFreeSelection(candidates: [
            Self.candidate(0.75, 1, kl: 0.02, entropy: 0.5, argmax: [1, 2, 3, 4], prompts: 50),
            Self.candidate(1.0, 1, kl: 0.01, entropy: 0.4, argmax: [1, 2, 3, 4], prompts: 50),
            Self.candidate(1.25, 1, kl: 0.03, entropy: 0.3, argmax: [1, 2, 3, 4], prompts: 50),
        ])
        #expect(selection.picks[.agreement] == 1)
        #expect(selection.expectedShortfall == 0)
        #expect(selection.recommended?.scale == 1.0)
    }

    @Test func theThresholdIsInclusiveAndAbstainsAboveIt() {
        // One task at a = 1 (σ = 0), a neighbour 0.04 lower: f = 0.02 exactly → recommended; 0.06 lower → abstains.
        func run(_ drop: Double) -> LabelFreeSelection {
            LabelFreeSelection(candidates: [
                LabelFreeSelection.Candidate(
                    weighting: "w", weights: [1], scale: 1,
                    scores: [Self.score(1, kl: 0, entropy: 1, argmax: [1])]),
                LabelFreeSelection.Candidate(
                    weighting: "w", weights: [1], scale: 2,
                    scores: [Self.score(1 - drop, kl: 0.5, entropy: 1, argmax: [1])]),
            ])
        }
        #expect(abs(run(0.04).expectedShortfall - 0.02) < 1e-15)
        #expect(run(0.03).recommended != nil)
        #expect(run(0.06).recommended == nil)
    }

    /// A point whose weights are within 0.01 of a weighting's (the data-free point) lies on its line: it has
    /// neighbours; one 0.02 away does not.
    @Test func aNearbyWeightingJoinsTheLine() {
        func near(_ w: [Double]) -> LabelFreeSelection {
            LabelFreeSelection(candidates: [
                Self.candidate(1, 0.5, kl: 0.1, entropy: 0.5, argmax: [1, 2]),
                Self.candidate(2, 0.5, kl: 0.1, entropy: 0.5, argmax: [1, 3]),
                LabelFreeSelection.Candidate(
                    weighting: "data-free", weights: w, scale: 1.5,
                    scores: [
                        Self.score(0.5, kl: 0.1, entropy: 0.5, argmax: [1, 2]),
                        Self.score(0.5, kl: 0.1, entropy: 0.5, argmax: [1, 2]),
                    ]),
            ])
        }
        let joined = near([0.505, 0.495])
        #expect(joined.candidates[2].neighbours == [0, 1])
        #expect(joined.candidates[2].stability == 0.75)
        #expect(near([0.52, 0.48]).candidates[2].stability.isNaN)
    }
    /// One task, per-prompt flags known: the sampling part is the bootstrap's mean agreement loss.
    static func flagged(_ s: Double, _ agrees: [Bool], kl: Double) -> LabelFreeSelection.Candidate {
        let a = Double(agrees.filter { $0 }.count) / Double(agrees.count)
        return LabelFreeSelection.Candidate(
            weighting: "w", weights: [1], scale: s,
            scores: [
                LabelFreeEvaluator.TaskScore(
                    agreement: a, tokenAgreement: a, meanKL: kl, meanEntropy: 1, argmax: [1], prompts: agrees.count,
                    agrees: agrees)
            ])
    }

    /// A candidate that agrees on every prompt another does, and more, wins every resample: σ = 0, though the
    /// binomial error √(a(1−a)/n) would be 0.1. Two candidates with the same agreement on different prompts: every
    /// resample that picks the other one loses nothing in full-sample agreement either — σ = 0 again. A near tie
    /// (0.6 vs 0.5 on disjoint-ish prompts) loses on the resamples that pick the worse one: 0 < σ < 0.1.
    @Test func theSamplingPartIsTheBootstrapLossOfThePick() {
        let many = [true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true,
            true, true, true, true, true, false, false, false, false]
        let fewer = many.enumerated().map { $0.offset < 15 ? $0.element : false }
        let dominant = LabelFreeSelection(candidates: [Self.flagged(1, fewer, kl: 0.2), Self.flagged(2, many, kl: 0.3)])
        #expect(dominant.picks[.agreement] == 1)
        #expect(dominant.sampling == 0)
        let same = LabelFreeSelection(candidates: [
            Self.flagged(1, many, kl: 0.2), Self.flagged(2, Array(many.reversed()), kl: 0.3),
        ])
        #expect(same.sampling == 0)
        let a = (0..<20).map { $0 % 5 < 3 }  // 0.6
        let b = (0..<20).map { $0 % 2 == 0 }  // 0.5, on other prompts
        let near = LabelFreeSelection(candidates: [Self.flagged(1, a, kl: 0.2), Self.flagged(2, b, kl: 0.3)])
        #expect(near.picks[.agreement] == 0)
        #expect(near.sampling > 0.005 && near.sampling < 0.1)
        // Deterministic: the same scores give the same σ.
        #expect(LabelFreeSelection(candidates: [Self.flagged(1, a, kl: 0.2), Self.flagged(2, b, kl: 0.3)]).sampling
            == near.sampling)
    }
}
