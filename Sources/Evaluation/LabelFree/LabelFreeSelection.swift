import Foundation

/// The label-free choice among scored candidate points c = s·w: each criterion's pick, the recommended point (the
/// pick of ``recommendedCriterion``) and the expected shortfall that decides whether to recommend it at all.
///
/// Criteria, each the mean over tasks of the per-task value (``LabelFreeEvaluator/TaskScore``):
/// - `agreement`: the fraction of task t's prompts on which the candidate's greedy continuation equals task model
///   t's (picked by the highest; ties by the lower KL, then the first candidate);
/// - `kl`: the mean KL(teacher_t ‖ candidate) over the continuation rows (lowest);
/// - `entropy`: the mean prediction entropy over those rows, AdaMerging's criterion (lowest);
/// - `stability`: AdaMMS's criterion — the fraction of continuation rows whose argmax equals the argmax at the
///   neighbouring evaluated scales of the same weighting (within ``sameWeightingTolerance``; mean over the one or two
///   neighbours; highest, ties by the lower KL; a candidate alone on its weighting has none).
///
/// **Expected shortfall** of the recommended point (agreement a, per task a_t on n_t prompts), in agreement units:
/// √(σ² + d² + f²) with
/// - σ = the agreement the pick loses to the noise of its n_t prompts: over ``bootstrapDraws`` seeded bootstrap
///   resamples of each task's prompts (with replacement), the mean of a − (full-sample agreement of the candidate
///   the resample picks). It is 0 when one candidate wins on every resample or the candidates the resamples pick
///   agree equally well, and grows where near-tied candidates differ. Without per-prompt data (hand-made scores),
///   σ = √(Σ_t a_t(1 − a_t)/n_t) / T, the binomial error of the mean agreement;
/// - d = the mean over the `kl` and `stability` picks of max(0, a − agreement at that pick): the agreement lost
///   where criteria that measure the same thing disagree (`entropy` is reported but not counted: its minimum
///   rewards over-confident points, not agreement);
/// - f = half the mean over the recommended point's neighbouring scales (same weighting) of max(0, a − agreement
///   there): what landing half a step off along s costs, large where the agreement curve is sharp.
/// Above ``abstainAbove`` the selection abstains (``recommended`` is nil).
public struct LabelFreeSelection: Sendable {
    public enum Criterion: String, Sendable, CaseIterable {
        case agreement, kl, entropy, stability
    }

    /// One scored point.
    public struct Candidate: Sendable {
        public let weighting: String
        public let weights: [Double]
        public let scale: Double
        /// Per task model, in the family's order.
        public let scores: [LabelFreeEvaluator.TaskScore]
        /// The mean stability over tasks (NaN without a neighbouring scale).
        public internal(set) var stability: Double = .nan
        /// The neighbouring candidates along s on the same weighting.
        public internal(set) var neighbours: [Int] = []

        public init(weighting: String, weights: [Double], scale: Double, scores: [LabelFreeEvaluator.TaskScore]) {
            self.weighting = weighting
            self.weights = weights
            self.scale = scale
            self.scores = scores
        }

        public var coefficients: [Double] { weights.map { scale * $0 } }
        public var agreement: Double { mean(\.agreement) }
        public var tokenAgreement: Double { mean(\.tokenAgreement) }
        public var meanKL: Double { mean(\.meanKL) }
        public var meanEntropy: Double { mean(\.meanEntropy) }

        func mean(_ value: KeyPath<LabelFreeEvaluator.TaskScore, Double>) -> Double {
            scores.reduce(0) { $0 + $1[keyPath: value] } / Double(max(scores.count, 1))
        }

        /// The criterion's value at this point.
        public func score(_ criterion: Criterion) -> Double {
            switch criterion {
            case .agreement: agreement
            case .kl: meanKL
            case .entropy: meanEntropy
            case .stability: stability
            }
        }
    }

    /// Weightings that differ by at most this in every weight are one line of points along s (the grid scores such
    /// weightings once; the data-free point joins the line it lies on).
    public static let sameWeightingTolerance = 0.01

    /// Whether two weightings are within ``sameWeightingTolerance`` in every weight.
    public static func sameWeighting(_ a: [Double], _ b: [Double]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= sameWeightingTolerance }
    }

    /// The criterion whose pick is recommended: agreement, the criterion whose pick came closest to the best sweep
    /// point on the validated families (README "Validation").
    public static let recommendedCriterion = Criterion.agreement
    /// The largest expected shortfall (mean agreement) at which a point is still recommended.
    public static let abstainAbove = 0.02
    /// The labelled items per task `sweep` needs, said when abstaining: the few-labels measurement's, shared with the
    /// data-free rule (``Recommendation/labelledItemsNeeded``).
    public static let labelledItemsNeeded = Recommendation.labelledItemsNeeded

    /// Bootstrap resamples of the prompts behind the sampling part σ of the expected shortfall.
    public static let bootstrapDraws = 200

    public let candidates: [Candidate]
    /// Each criterion's pick: an index into ``candidates``.
    public let picks: [Criterion: Int]
    /// The parts of the expected shortfall: sampling error σ, criteria disagreement d, flatness f.
    public let sampling: Double, disagreement: Double, flatness: Double

    public var expectedShortfall: Double {
        (sampling * sampling + disagreement * disagreement + flatness * flatness).squareRoot()
    }

    /// The pick of ``recommendedCriterion``, or nil when the expected shortfall is above ``abstainAbove``.
    public var recommended: Candidate? {
        expectedShortfall <= Self.abstainAbove ? candidates[picks[Self.recommendedCriterion]!] : nil
    }

    /// Scores stability and picks. `candidates` must not be empty.
    public init(candidates scored: [Candidate]) {
        precondition(!scored.isEmpty, "at least one candidate")
        var candidates = scored
        // Neighbours along s on the same weighting (every weight within ``sameWeighting``).
        for i in candidates.indices {
            let line = candidates.indices.filter { Self.sameWeighting(candidates[$0].weights, candidates[i].weights) }
                .sorted { candidates[$0].scale < candidates[$1].scale }
            let position = line.firstIndex(of: i)!
            var neighbours: [Int] = []
            if position > 0 { neighbours.append(line[position - 1]) }
            if position + 1 < line.count { neighbours.append(line[position + 1]) }
            candidates[i].neighbours = neighbours
            guard !neighbours.isEmpty else { continue }
            let tasks = candidates[i].scores.indices
            let perTask = tasks.map { t -> Double in
                let own = candidates[i].scores[t].argmax
                let shares = neighbours.map { n -> Double in
                    let other = candidates[n].scores[t].argmax
                    return Double(zip(own, other).filter { $0 == $1 }.count) / Double(max(own.count, 1))
                }
                return shares.reduce(0, +) / Double(shares.count)
            }
            candidates[i].stability = perTask.reduce(0, +) / Double(max(perTask.count, 1))
        }
        func best(_ better: (Candidate, Candidate) -> Bool) -> Int {
            var pick = 0
            for i in candidates.indices.dropFirst() where better(candidates[i], candidates[pick]) { pick = i }
            return pick
        }
        var picks: [Criterion: Int] = [:]
        picks[.agreement] = best { a, b in
            a.agreement > b.agreement || (a.agreement == b.agreement && a.meanKL < b.meanKL)
        }
        picks[.kl] = best { $0.meanKL < $1.meanKL }
        picks[.entropy] = best { $0.meanEntropy < $1.meanEntropy }
        picks[.stability] = best { a, b in
            guard !a.stability.isNaN else { return false }
            if b.stability.isNaN { return true }
            return a.stability > b.stability || (a.stability == b.stability && a.meanKL < b.meanKL)
        }
        self.candidates = candidates
        self.picks = picks

        let chosen = candidates[picks[Self.recommendedCriterion]!]
        let a = chosen.agreement
        let T = Double(max(chosen.scores.count, 1))
        sampling =
            Self.bootstrapLoss(candidates, pick: picks[Self.recommendedCriterion]!)
            ?? chosen.scores.reduce(0) { $0 + $1.agreement * (1 - $1.agreement) / Double(max($1.prompts, 1)) }
            .squareRoot() / T
        let others = [Criterion.kl, .stability].map { candidates[picks[$0]!] }
        disagreement = others.reduce(0) { $0 + max(0, a - $1.agreement) } / Double(others.count)
        let drops = chosen.neighbours.map { max(0, a - candidates[$0].agreement) / 2 }
        flatness = drops.isEmpty ? 0 : drops.reduce(0, +) / Double(drops.count)
    }

    /// The mean agreement lost by picking on bootstrap resamples of the prompts: for each of ``bootstrapDraws``
    /// resamples (SplitMix64 from a fixed seed: deterministic), every task's n_t prompts are drawn with replacement,
    /// the candidate with the highest resampled mean agreement is picked (ties: the lower full-sample KL, then the
    /// first), and its full-sample agreement is subtracted from the full-sample pick's. Nil when any score lacks
    /// per-prompt flags.
    static func bootstrapLoss(_ candidates: [Candidate], pick: Int) -> Double? {
        guard let first = candidates.first, !first.scores.isEmpty else { return nil }
        let counts = first.scores.map(\.prompts)
        guard counts.allSatisfy({ $0 > 0 }),
            candidates.allSatisfy({ candidate in
                candidate.scores.map(\.prompts) == counts
                    && candidate.scores.allSatisfy { $0.agrees?.count == $0.prompts }
            })
        else { return nil }
        var random = SplitMix64(seed: 0x5EED_1ABE_1F2E_E000)
        let best = candidates[pick].agreement
        var loss = 0.0
        for _ in 0..<bootstrapDraws {
            let draws = counts.map { n in (0..<n).map { _ in random.next(below: n) } }
            var chosen = 0
            var chosenScore = -Double.infinity
            for (c, candidate) in candidates.enumerated() {
                var total = 0.0
                for (t, indices) in draws.enumerated() {
                    let agrees = candidate.scores[t].agrees!
                    total += Double(indices.reduce(0) { $0 + (agrees[$1] ? 1 : 0) }) / Double(indices.count)
                }
                let score = total / Double(draws.count)
                if score > chosenScore || (score == chosenScore && candidate.meanKL < candidates[chosen].meanKL) {
                    chosen = c
                    chosenScore = score
                }
            }
            loss += max(0, best - candidates[chosen].agreement)
        }
        return loss / Double(bootstrapDraws)
    }
}
