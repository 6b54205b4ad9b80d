import Foundation
import HDF5
import Statistics

/// A data-free recommendation of a merge point c = s·w, from the task-vector statistics (and the probe's per-prompt
/// measurements, when a probe report is given) only — no task data.
///
/// The rule (`metamerge recommend`, validated against `metamerge sweep` in the README):
///
/// 1. **Target in the linear regime.** Under linearity each task keeps its own effect when the merged vector's
///    component along τ_t equals τ_t's: ⟨Σ_k c_k τ_k, τ_t⟩ = ‖τ_t‖² for every t, i.e. G c* = diag(G) with G the
///    global Gram matrix (c* = (1, …, 1) for orthogonal task vectors: plain task arithmetic; smaller where task
///    vectors overlap). The linear target scale is s* = Σ_t c*_t (clamped to [0, T]; when G is singular or c* has a
///    negative entry, s* = T / (1 + (T − 1)·mean cosine)).
/// 2. **Weighting.** MetaGPT's λ_t = ‖τ_t‖² / Σ_k ‖τ_k‖² unless some task gets less than ``minimumShare`` of the
///    uniform share (λ_t < minimumShare / T): MetaGPT weights a task by how far its fine-tuning moved, so a task that
///    trained briefly (a short τ) gets little weight although it may matter as much — then uniform w = 1/T, with a
///    warning per such task.
/// 3. **Scale cap from the probe's second-order terms, per task and between tasks.** Model the outputs as quadratic
///    in the coefficients: f(θ0 + Σ c_t τ_t) − f(θ0) = Σ c_t a_t + Σ c_t² b_t + Σ_{i<j} c_i c_j C_ij. The probe's
///    chord residual along τ_t is ρ_t ≈ ‖b_t‖ / (4‖Δ_t‖) (the chord deviation of α·a + α²·b peaks at α = ½) and its
///    additivity gap of the pair (i, j) is γ_ij = ‖C_ij‖ / (‖Δ_i‖ + ‖Δ_j‖) exactly (the b terms cancel), with Δ_t =
///    f(θ0 + τ_t) − f(θ0). Taking the ‖Δ_t‖ equal, the second-order part at c = s·u (u = w / Σw) is s·κ of the
///    first-order part, κ = 4 Σ_t u_t² ρ_t + 2 Σ_{i<j} u_i u_j γ_ij — the pair term is the interference between
///    tasks that per-task residuals do not see. ρ_t and γ_ij are **medians over the probe's prompts** (one outlier
///    prompt does not set the scale). Keeping s·κ ≤ ``tolerance`` caps s at tolerance / κ; the recommended scale is
///    s = min(s*, that cap).
/// 4. **Expected shortfall and abstention.** The probe's merged-point gap curve (median over prompts, at the MetaGPT
///    direction, interpolated linearly in s and held constant past its ends) read at the recommended s is the
///    relative distance of the merged outputs from the linear prediction the rule relies on — its expected shortfall
///    (a relative output deviation, not an exact-match rate). Above ``abstainAbove`` the rule abstains: no reliable
///    data-free point; run `sweep` with ``labelledItemsNeeded`` labelled items per task. Without a probe, s = s*
///    with a warning that it assumes linearity, and no shortfall is estimated.
public struct Recommendation: Sendable {
    /// A task whose MetaGPT λ is below this fraction of the uniform share 1/T triggers uniform weights.
    public static let minimumShare = 0.6
    /// The largest predicted second-order share s·κ trusted at the recommended point (the gate's linearity
    /// threshold). Fixed on the bundled tiny and gentle families.
    public static let tolerance = 0.1
    /// The expected shortfall (median merged-point gap at the pick) above which the rule abstains; the level the
    /// previous rule warned at. Fixed on the bundled tiny and gentle families.
    public static let abstainAbove = 0.25
    /// Labelled items per task that `sweep` needs for its best point to land within 0.02 mean exact match of the
    /// all-items best in ≥ 90 % of 20 random draws (benchmarks/few_labels.py on the recommend_validation.sh sweeps:
    /// 50 on the tiny and the gentle family, 5 on breaker; the README's "few labels" table).
    public static let labelledItemsNeeded = 50

    public let taskNames: [String]
    public let weightingName: String
    public let weights: [Double]
    public let scale: Double
    /// The linear target scale s* and the probe's cap s_max (nil without a probe).
    public let linearScale: Double
    public let probeCap: Double?
    /// κ, the second-order share per unit of s (nil without a usable probe).
    public let secondOrderRate: Double?
    /// The probe's median merged-point gap at ``scale`` (nil without a probe curve); see the type's rule 4.
    public let expectedShortfall: Double?
    public let reason: [String]
    public let warnings: [String]

    /// True when the rule does not trust its point: ``expectedShortfall`` exceeds ``abstainAbove``.
    public var abstains: Bool { (expectedShortfall ?? 0) > Self.abstainAbove }

    /// The point's coefficients c_t = s·w_t (given even when the rule abstains; a command prints null then).
    public var coefficients: [Double] { weights.map { scale * $0 } }

    /// The recommendation for `statistics` (from `metamerge analyze`), with the probe's measurements when given.
    public static func make(statistics: TaskVectorStatistics, probe: ProbeCurve? = nil) -> Recommendation {
        let names = statistics.taskNames
        let T = names.count
        let gram = statistics.global.moments.gram
        let squared = gram.squaredNorms
        let lambdas = gram.metagptLambdas
        let norms = squared.map { $0.squareRoot() }
        let largest = norms.max() ?? 1
        var reason: [String] = [], warnings: [String] = []

        // 1. The linear target.
        let cosines = (0..<T).flatMap { i in ((i + 1)..<T).compactMap { gram.cosine(i, $0) } }
        let meanCosine = cosines.isEmpty ? 0 : cosines.reduce(0, +) / Double(cosines.count)
        var target: Double
        if let c = solve(gram: gram, rhs: squared), c.allSatisfy({ $0 >= 0 && $0.isFinite }) {
            target = c.reduce(0, +)
            reason.append(
                String(
                    format:
                        "In the linear regime each task keeps its own effect at c* = G⁻¹·diag(G) = (%@), total scale "
                        + "s* = %.2f (T = %d; cosines %.2f … %.2f).",
                    c.map { String(format: "%.2f", $0) }.joined(separator: ", "), target, T, cosines.min() ?? 0,
                    cosines.max() ?? 0))
        } else {
            target = Double(T) / (1 + Double(T - 1) * max(meanCosine, 0))
            reason.append(
                String(
                    format:
                        "The Gram system is singular or asks for a negative coefficient; s* = T/(1 + (T−1)·mean "
                        + "cosine) = %.2f.",
                    target))
        }
        target = min(max(target, 0), Double(T))

        // 2. The weighting.
        let uniformShare = 1 / Double(max(T, 1))
        var lowShare: [Int] = []
        for t in 0..<T where lambdas[t] < minimumShare * uniformShare {
            lowShare.append(t)
            warnings.append(
                String(
                    format:
                        "MetaGPT gives '%@' λ = %.2f (its ‖τ‖ is %.2f of the largest): a task that trained briefly "
                        + "gets little weight",
                    names[t], lambdas[t], norms[t] / largest))
        }
        let weightingName = lowShare.isEmpty ? "metagpt" : "uniform"
        let weights = lowShare.isEmpty ? lambdas : Array(repeating: uniformShare, count: T)
        if lowShare.isEmpty {
            reason.append(
                "MetaGPT's λ are balanced (every task gets at least \(Int(minimumShare * 100)) % of the uniform "
                    + "share): weights = λ."
            )
        } else {
            reason.append(
                "Uniform weights: MetaGPT would shrink \(lowShare.map { "'\(names[$0])'" }.joined(separator: ", ")) "
                    + "below \(Int(minimumShare * 100)) % of the uniform share."
            )
        }

        // 3. The probe's cap; 4. the expected shortfall.
        var cap: Double? = nil
        var rate: Double? = nil
        var shortfall: Double? = nil
        if let probe, probe.chordResidualMax.count == T, !probe.chordResidualMeasured {
            warnings.append(
                "The probe's α grid has no α besides 0 and 1, so its chord residuals measured nothing: the scale "
                    + "assumes linearity; re-run metamerge probe with e.g. --alphas 0:1:0.25 to cap it.")
        } else if let probe, probe.chordResidualMax.count == T {
            let second = secondOrder(probe: probe, weights: weights, names: names)
            reason += second.reason
            warnings += second.warnings
            rate = second.rate
            if second.rate > 0 {
                let limit = tolerance / second.rate
                cap = limit
                reason.append(
                    String(
                        format: "Keeping the second-order share s·κ ≤ %.2f caps s at %.2f / %.4f = %.2f.", tolerance,
                        tolerance, second.rate, limit))
                if limit < target {
                    warnings.append(
                        String(
                            format:
                                "The model leaves its linear regime well before the linear target: the scale is cut "
                                + "from %.2f to %.2f, so each task keeps only part of its vector; expect the merge to "
                                + "fall short of the task models.",
                            target, limit))
                }
            }
            let scale = min(target, cap ?? target)
            let finite = zip(probe.scales, probe.medianGap).filter { $0.1.isFinite }.sorted { $0.0 < $1.0 }
            if !finite.isEmpty {
                let gap = interpolate(finite, at: scale)
                shortfall = gap
                reason.append(
                    String(
                        format:
                            "Expected shortfall: the probe's merged point (MetaGPT direction) is %.3f away from the "
                            + "linear prediction at s = %.2f (median over prompts, interpolated on its scales %@); "
                            + "the rule abstains above %.2f.",
                        gap, scale, finite.map { String(format: "%g", $0.0) }.joined(separator: ", "), abstainAbove))
                let smallest = finite.map(\.1).min()!
                if smallest > abstainAbove {
                    warnings.append(
                        String(
                            format:
                                "The MetaGPT point's gap to the linear prediction is ≥ %.2f at every probed scale "
                                + "(median over prompts): task arithmetic's premise does not hold for this family at "
                                + "any scale.",
                            smallest))
                }
            }
        } else if probe != nil {
            warnings.append("The probe report does not match the statistics' tasks; the scale assumes linearity.")
        } else {
            warnings.append(
                "No probe report: the scale assumes the model is linear in the weights up to s*; run `metamerge probe` "
                    + "and pass its report to cap it."
            )
        }
        let scale = min(target, cap ?? target)
        if let shortfall, shortfall > abstainAbove {
            reason.append(
                String(
                    format:
                        "No reliable data-free point for this family (expected shortfall %.3f > %.2f): run `metamerge "
                        + "sweep` with %d labelled items per task. The point the rule would give: %@ weights at "
                        + "s = %.2f.",
                    shortfall, abstainAbove, labelledItemsNeeded, weightingName, scale))
        } else {
            reason.append(String(format: "Recommended: %@ weights at total scale s = %.2f.", weightingName, scale))
        }
        return Recommendation(
            taskNames: names, weightingName: weightingName, weights: weights, scale: scale, linearScale: target,
            probeCap: cap, secondOrderRate: rate, expectedShortfall: shortfall, reason: reason, warnings: warnings)
    }

    /// κ = 4 Σ_t u_t² ρ_t + 2 Σ_{i<j} u_i u_j γ_ij (u = w / Σw) from the probe's per-prompt medians (rule 3), with
    /// the reason lines naming every number. A NaN median (a task vector that does not change the outputs) adds
    /// nothing, with a warning.
    static func secondOrder(
        probe: ProbeCurve, weights: [Double], names: [String]
    ) -> (rate: Double, reason: [String], warnings: [String]) {
        let T = names.count
        let total = weights.reduce(0, +)
        let u = weights.map { total > 0 ? $0 / total : 0 }
        let medians = probe.chordResidualMedian.flatMap { $0.count == T ? $0 : nil }
        let rho = medians ?? probe.chordResidualMax
        let statistic = medians == nil ? "maxima" : "medians"
        var warnings: [String] = []
        var own = 0.0
        for t in 0..<T where rho[t].isFinite { own += 4 * u[t] * u[t] * rho[t] }
        if rho.contains(where: { $0.isNaN }) {
            warnings.append(
                "The probe's chord residual is undefined for some task (its τ does not change the outputs); that "
                    + "task adds nothing to the scale's cap."
            )
        }
        var reason = [
            String(
                format: "The probe's chord residuals (%@ over prompts: %@) give the per-task second-order rate "
                    + "4Σu²ρ = %.4f.",
                statistic, zip(names, rho).map { String(format: "%@ %.3f", $0, $1) }.joined(separator: ", "), own)
        ]
        var pair = 0.0
        if let gaps = probe.additivityGapMedian, gaps.count == T * T {
            var listed: [String] = []
            for i in 0..<T {
                for j in (i + 1)..<T {
                    let g = gaps[i * T + j]
                    listed.append(String(format: "%@·%@ %.3f", names[i], names[j], g))
                    if g.isFinite { pair += 2 * u[i] * u[j] * g }
                }
            }
            if gaps.contains(where: { $0.isNaN }) {
                warnings.append("The probe's additivity gap is undefined for some pair; that pair adds nothing.")
            }
            reason.append(
                String(
                    format: "Its additivity gaps (medians over prompts: %@) give the interference rate 2Σu_iu_jγ_ij "
                        + "= %.4f; κ = %.4f.",
                    listed.joined(separator: ", "), pair, own + pair))
        } else {
            warnings.append(
                "The probe's per-prompt additivity gaps were not given: the cap sees no interference between tasks.")
        }
        return (own + pair, reason, warnings)
    }

    /// The piecewise-linear interpolation of `points` (sorted by x) at `x`, constant past the ends.
    static func interpolate(_ points: [(Double, Double)], at x: Double) -> Double {
        guard let first = points.first, let last = points.last else { return .nan }
        if x <= first.0 { return first.1 }
        if x >= last.0 { return last.1 }
        let k = points.firstIndex { $0.0 >= x }!
        let (x0, y0) = points[k - 1], (x1, y1) = points[k]
        return x1 == x0 ? y1 : y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    }

    /// ``make(statistics:probe:)`` for a command: the probe must be of the statistics' models and tasks (rows are
    /// put in the statistics' task order), and the family must have something to merge — with every task vector
    /// zero, λ and s are undefined. A result that is not a finite positive scale with finite weights is refused
    /// rather than printed.
    ///
    /// - Throws: ``AnalysisError/familyMismatch(_:)`` for a probe of other models or tasks,
    ///   ``AnalysisError/badArgument(_:cause:)`` for a model with non-finite weights (its statistics are undefined),
    ///   a family whose task vectors are all zero, or an undefined result.
    public static func checked(statistics: TaskVectorStatistics, probe: ProbeCurve? = nil) throws -> Recommendation {
        let aligned = try probe.map { try $0.aligned(to: statistics) }
        let names = ["base"] + statistics.taskNames
        for (m, count) in statistics.global.moments.nonFinite.enumerated() where count > 0 {
            let path = m < statistics.provenance.models.count ? " (\(statistics.provenance.models[m].path))" : ""
            throw AnalysisError.badArgument(
                "model '\(m < names.count ? names[m] : "?")'\(path) holds \(count) non-finite weight(s) (NaN or ±Inf), "
                    + "so its task-vector statistics are undefined: there is no merge point to recommend")
        }
        let squared = statistics.global.moments.gram.squaredNorms
        guard squared.contains(where: { $0 > 0 }) else {
            let tasks = statistics.provenance.models.filter { $0.role != "base" }.map(\.path)
            throw AnalysisError.badArgument(
                "every task vector is zero (the task models \(tasks.joined(separator: ", ")) equal the base): there is "
                    + "no merge point to recommend")
        }
        let r = make(statistics: statistics, probe: aligned)
        guard r.scale.isFinite, r.scale > 0, r.weights.allSatisfy(\.isFinite) else {
            throw AnalysisError.badArgument(
                "the recommendation is undefined (s = \(r.scale), weights \(r.weights)); check the reports")
        }
        return r
    }

    /// Solves G x = b by Gaussian elimination with partial pivoting; nil when G is (numerically) singular.
    static func solve(gram: GramMatrix, rhs: [Double]) -> [Double]? {
        let n = gram.count
        var a = (0..<n).map { i in (0..<n).map { gram[i, $0] } + [rhs[i]] }
        let scale = (0..<n).map { gram[$0, $0] }.max() ?? 0
        guard scale > 0 else { return nil }
        for col in 0..<n {
            let pivot = (col..<n).max { abs(a[$0][col]) < abs(a[$1][col]) }!
            guard abs(a[pivot][col]) > 1e-12 * scale else { return nil }
            a.swapAt(col, pivot)
            for row in 0..<n where row != col {
                let f = a[row][col] / a[col][col]
                for k in col...n { a[row][k] -= f * a[col][k] }
            }
        }
        return (0..<n).map { a[$0][n] / a[$0][$0] }
    }
}

/// What the recommendation reads from a probe: the merged-point gap over the total scale s (`/probe/scales`,
/// `/probe/merged_gap`, median over prompts), the per-task chord residuals (maxima, and medians over prompts) and the
/// pairs' additivity gaps (medians over prompts).
public struct ProbeCurve: Sendable {
    public let scales: [Double]
    public let medianGap: [Double]
    public let lambdas: [Double]
    /// Per task, the chord residual's maximum over prompts (`/probe/chord_residual_max`).
    public let chordResidualMax: [Double]
    /// Per task, the median over prompts of `/probe/chord_residual` (NaN prompts left out; NaN when all are); `nil`
    /// when not known (then the maxima stand in).
    public let chordResidualMedian: [Double]?
    /// The median over prompts of `/probe/additivity_gap` per pair, as a symmetric T × T matrix (row-major, zero
    /// diagonal) in the order of ``taskNames``; `nil` when not known.
    public let additivityGapMedian: [Double]?
    /// The probe's tasks, in the order of ``lambdas`` and ``chordResidualMax`` (`nil`: the statistics' order).
    public let taskNames: [String]?
    /// The α grid (`/probe/alphas`), `nil` when not known; see ``LinearitySummary/chordResidualMeasured``.
    public let alphas: [Double]?
    /// The models the probe ran with their fingerprints: `nil` when not known (a probe of this process), empty for a
    /// report that recorded none.
    public let models: [Provenance.Model]?

    public init(
        scales: [Double], medianGap: [Double], lambdas: [Double], chordResidualMax: [Double],
        taskNames: [String]? = nil, alphas: [Double]? = nil, models: [Provenance.Model]? = nil,
        chordResidualMedian: [Double]? = nil, additivityGapMedian: [Double]? = nil
    ) {
        self.scales = scales
        self.medianGap = medianGap
        self.lambdas = lambdas
        self.chordResidualMax = chordResidualMax
        self.chordResidualMedian = chordResidualMedian
        self.additivityGapMedian = additivityGapMedian
        self.taskNames = taskNames
        self.alphas = alphas
        self.models = models
    }

    /// Whether the chord residuals measured something (the grid holds two distinct α, one besides 0 and 1).
    var chordResidualMeasured: Bool {
        LinearitySummary(chordResidual: [], taylorError: [], additivityGap: [], alphas: alphas).chordResidualMeasured
    }

    /// Reads the curve from a report with a `/probe` group, checked as ``ProbeReport/readSummary(from:)`` checks it.
    ///
    /// - Throws: ``AnalysisError/badReport(path:detail:cause:)`` when there is no complete, consistent `/probe`.
    public static func read(from url: URL) throws -> ProbeCurve {
        guard let curve = try read(from: url, required: true) else {
            throw AnalysisError.badReport(
                path: url.path, detail: "has no /probe group (write one with metamerge probe)")
        }
        return curve
    }

    /// The curve of `url`'s `/probe` group, or `nil` when the report has none; an incomplete or inconsistent group is
    /// an error, never ignored.
    public static func readIfPresent(from url: URL) throws -> ProbeCurve? {
        try read(from: url, required: false)
    }

    private static func read(from url: URL, required: Bool) throws -> ProbeCurve? {
        let file = try AnalysisReport.openReport(url)
        defer { try? file.close() }
        if !required {
            let present: Bool
            do { present = try file.root.exists("probe") } catch {
                throw AnalysisError.badReport(path: url.path, detail: "cannot list its groups: \(error)", cause: error)
            }
            guard present else { return nil }
        }
        let probe = try ProbeReport.read(file, path: url.path)
        let Q = probe.promptCount
        let T = probe.tasks.count
        func rowMedians(_ values: [Double], rows: Int) -> [Double] {
            (0..<rows).map { median(values[($0 * Q)..<(($0 + 1) * Q)]) }
        }
        // ProbeReport.read checked both datasets' sizes ([T, Q], [P, Q]) and values.
        let group: HDF5Group
        let chord: [Double], additivity: [Double]
        do {
            group = try file.root.group("probe")
            chord = try group.dataset("chord_residual").read(Double.self).values
            additivity = try group.dataset("additivity_gap").read(Double.self).values
        } catch {
            throw AnalysisError.badReport(path: url.path, detail: "cannot read /probe: \(error)", cause: error)
        }
        let pairMedians = rowMedians(additivity, rows: T * (T - 1) / 2)
        var pairs = [Double](repeating: 0, count: T * T)
        var p = 0
        for i in 0..<T {
            for j in (i + 1)..<T {
                pairs[i * T + j] = pairMedians[p]
                pairs[j * T + i] = pairMedians[p]
                p += 1
            }
        }
        return ProbeCurve(
            scales: probe.scales, medianGap: rowMedians(probe.mergedGap, rows: probe.scales.count),
            lambdas: probe.lambdas, chordResidualMax: probe.chordResidualMax, taskNames: probe.tasks,
            alphas: probe.alphas, models: probe.models, chordResidualMedian: rowMedians(chord, rows: T),
            additivityGapMedian: pairs)
    }

    /// The median of the finite values (the mean of the middle two for an even count); NaN when there are none.
    static func median(_ values: ArraySlice<Double>) -> Double {
        let row = values.filter(\.isFinite).sorted()
        guard !row.isEmpty else { return .nan }
        return row.count % 2 == 1 ? row[row.count / 2] : (row[row.count / 2 - 1] + row[row.count / 2]) / 2
    }

    /// This curve with its per-task rows in the order of `statistics`' tasks, after checking it was measured on the
    /// statistics' models (their weight fingerprints, as ``Gate`` checks them) and tasks.
    ///
    /// - Throws: ``AnalysisError/familyMismatch(_:)`` for a probe of other models or other tasks.
    func aligned(to statistics: TaskVectorStatistics) throws -> ProbeCurve {
        if let models {
            try Gate.checkSameModels(
                LinearitySummary(chordResidual: [], taylorError: [], additivityGap: [], models: models), statistics)
        }
        let names = taskNames ?? statistics.taskNames
        guard names.count == lambdas.count, names.count == chordResidualMax.count,
            Set(names) == Set(statistics.taskNames), names.count == statistics.taskCount
        else {
            throw AnalysisError.familyMismatch(
                "the probe measured tasks \(names) but the statistics describe \(statistics.taskNames); give a probe "
                    + "of the same models")
        }
        let order = statistics.taskNames.map { names.firstIndex(of: $0)! }
        let T = order.count
        let pairs = additivityGapMedian.flatMap { gaps in
            gaps.count == T * T ? (0..<(T * T)).map { gaps[order[$0 / T] * T + order[$0 % T]] } : nil
        }
        return ProbeCurve(
            scales: scales, medianGap: medianGap, lambdas: order.map { lambdas[$0] },
            chordResidualMax: order.map { chordResidualMax[$0] }, taskNames: statistics.taskNames, alphas: alphas,
            models: models, chordResidualMedian: chordResidualMedian.map { m in order.map { m[$0] } },
            additivityGapMedian: pairs)
    }
}
