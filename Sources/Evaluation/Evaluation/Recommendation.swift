import Foundation
import HDF5
import Statistics

/// A data-free recommendation of a merge point c = s·w, from the task-vector statistics (and the probe's
/// merged-point gap curve over s, when a probe report is given) only — no task data.
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
/// 3. **Scale cap from the probe's per-task nonlinearity.** Along τ_t the probe measures the chord residual ρ_t =
///    max_α ‖f(θ0 + ατ_t) − chord(α)‖ / ‖Δ_t‖ (max over prompts). For outputs quadratic in α, f = f0 + αa + α²b, the
///    chord deviation peaks at α = ½ with ‖b‖/4, so ρ_t ≈ ‖b‖/(4‖a + b‖) and the second-order part of the change at
///    coefficient c is ≈ 4ρ_t·c of the first-order part. Trusting c_t only while that stays ≤ ``tolerance`` gives
///    c_t ≤ tolerance / (4ρ_t), i.e. s ≤ min_t tolerance / (4ρ_t w_t). The recommended scale is s = min(s*, that cap).
///    The probe's merged-point gap curve (median over prompts) is reported at the recommended s, with a warning when
///    it exceeds ``tolerance`` at every probed scale (the family is not in a linear regime anywhere). Without a
///    probe, s = s* with a warning that it assumes linearity.
public struct Recommendation: Sendable {
    /// A task whose MetaGPT λ is below this fraction of the uniform share 1/T triggers uniform weights.
    public static let minimumShare = 0.6
    /// The largest relative second-order part of a coefficient's effect trusted (and the merged-point gap warned of).
    public static let tolerance = 0.25

    public let taskNames: [String]
    public let weightingName: String
    public let weights: [Double]
    public let scale: Double
    /// The linear target scale s* and the probe's cap s_max (nil without a probe).
    public let linearScale: Double
    public let probeCap: Double?
    public let reason: [String]
    public let warnings: [String]

    public var coefficients: [Double] { weights.map { scale * $0 } }

    /// The recommendation for `statistics` (from `metamerge analyze`), with the probe's curve when given.
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

        // 3. The probe's cap.
        var cap: Double? = nil
        if let probe, probe.chordResidualMax.count == T, !probe.chordResidualMeasured {
            warnings.append(
                "The probe's α grid has no α besides 0 and 1, so its chord residuals measured nothing: the scale "
                    + "assumes linearity; re-run metamerge probe with e.g. --alphas 0:1:0.25 to cap it.")
        } else if let probe, probe.chordResidualMax.count == T {
            var limit = Double.infinity
            var limiting = 0
            for t in 0..<T where weights[t] > 0 && probe.chordResidualMax[t] > 0 {
                let s = tolerance / (4 * probe.chordResidualMax[t] * weights[t])
                if s < limit { limit = s; limiting = t }
            }
            if probe.chordResidualMax.contains(where: { $0.isNaN }) {
                warnings.append(
                    "The probe's chord residual is undefined for some task (its τ does not change the outputs); that "
                        + "task does not cap the scale."
                )
            }
            if limit.isFinite {
                cap = limit
                reason.append(
                    String(
                        format:
                            "The probe's chord residuals (%@) put the second-order part of a coefficient c at ≈ 4ρc of "
                            + "its effect; keeping it ≤ %.2f caps s at %.2f ('%@' binds).",
                        zip(names, probe.chordResidualMax).map { String(format: "%@ %.3f", $0, $1) }.joined(
                            separator: ", "),
                        tolerance, limit, names[limiting]))
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
            let finite = zip(probe.scales, probe.medianGap).filter { $0.1.isFinite }
            if !finite.isEmpty {
                let smallest = finite.map(\.1).min()!
                if smallest > tolerance {
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
        reason.append(String(format: "Recommended: %@ weights at total scale s = %.2f.", weightingName, scale))
        return Recommendation(
            taskNames: names, weightingName: weightingName, weights: weights, scale: scale, linearScale: target,
            probeCap: cap, reason: reason, warnings: warnings)
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
/// `/probe/merged_gap`, median over prompts) and the per-task chord residual maxima.
public struct ProbeCurve: Sendable {
    public let scales: [Double]
    public let medianGap: [Double]
    public let lambdas: [Double]
    /// Per task, the chord residual's maximum over prompts (`/probe/chord_residual_max`).
    public let chordResidualMax: [Double]
    /// The probe's tasks, in the order of ``lambdas`` and ``chordResidualMax`` (`nil`: the statistics' order).
    public let taskNames: [String]?
    /// The α grid (`/probe/alphas`), `nil` when not known; see ``LinearitySummary/chordResidualMeasured``.
    public let alphas: [Double]?
    /// The models the probe ran with their fingerprints: `nil` when not known (a probe of this process), empty for a
    /// report that recorded none.
    public let models: [Provenance.Model]?

    public init(
        scales: [Double], medianGap: [Double], lambdas: [Double], chordResidualMax: [Double],
        taskNames: [String]? = nil, alphas: [Double]? = nil, models: [Provenance.Model]? = nil
    ) {
        self.scales = scales
        self.medianGap = medianGap
        self.lambdas = lambdas
        self.chordResidualMax = chordResidualMax
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
        let medians = (0..<probe.scales.count).map { k -> Double in
            let row = probe.mergedGap[(k * Q)..<((k + 1) * Q)].filter(\.isFinite).sorted()
            guard !row.isEmpty else { return .nan }
            return row.count % 2 == 1 ? row[row.count / 2] : (row[row.count / 2 - 1] + row[row.count / 2]) / 2
        }
        return ProbeCurve(
            scales: probe.scales, medianGap: medians, lambdas: probe.lambdas, chordResidualMax: probe.chordResidualMax,
            taskNames: probe.tasks, alphas: probe.alphas, models: probe.models)
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
        return ProbeCurve(
            scales: scales, medianGap: medianGap, lambdas: order.map { lambdas[$0] },
            chordResidualMax: order.map { chordResidualMax[$0] }, taskNames: statistics.taskNames, alphas: alphas,
            models: models)
    }
}
