import Foundation
import HDF5

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
        if let probe, probe.chordResidualMax.count == T {
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

    public init(scales: [Double], medianGap: [Double], lambdas: [Double], chordResidualMax: [Double]) {
        self.scales = scales
        self.medianGap = medianGap
        self.lambdas = lambdas
        self.chordResidualMax = chordResidualMax
    }

    /// Reads the curve from a report with a `/probe` group.
    ///
    /// - Throws: ``AnalysisError/badReport(path:detail:cause:)`` when there is no readable `/probe`.
    public static func read(from url: URL) throws -> ProbeCurve {
        let file = try AnalysisReport.openReport(url)
        defer { try? file.close() }
        do {
            guard try file.root.exists("probe") else {
                throw AnalysisError.badReport(
                    path: url.path, detail: "has no /probe group (write one with metamerge probe)")
            }
            let probe = try file.root.group("probe")
            let scales = try probe.dataset("scales").read(Double.self).values
            let gap = try probe.dataset("merged_gap").read(Double.self).values
            let lambdas = try probe.dataset("metagpt_lambda").read(Double.self).values
            let chord = try probe.dataset("chord_residual_max").read(Double.self).values
            guard !scales.isEmpty, gap.count % scales.count == 0 else {
                throw AnalysisError.badReport(path: url.path, detail: "/probe/merged_gap is not [scales × prompts]")
            }
            let Q = gap.count / scales.count
            let medians = (0..<scales.count).map { k -> Double in
                let row = gap[(k * Q)..<((k + 1) * Q)].filter(\.isFinite).sorted()
                guard !row.isEmpty else { return .nan }
                return row.count % 2 == 1 ? row[row.count / 2] : (row[row.count / 2 - 1] + row[row.count / 2]) / 2
            }
            return ProbeCurve(scales: scales, medianGap: medians, lambdas: lambdas, chordResidualMax: chord)
        } catch let error as AnalysisError {
            throw error
        } catch {
            throw AnalysisError.badReport(path: url.path, detail: "incomplete /probe group: \(error)", cause: error)
        }
    }
}
