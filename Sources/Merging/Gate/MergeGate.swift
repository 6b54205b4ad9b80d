import Foundation
import Statistics

/// What the assumption gate found before the merge: the verdict of `Analysis.Gate` — the check `metamerge check`
/// runs — on the family's task-vector statistics.
public struct GateOutcome: Sendable, Hashable {
    public let thresholds: GateThresholds
    public let passed: Bool
    /// One line per violation (`cosine global [add · rev]: 0.3120 > 0.2000`).
    public let violations: [String]
    /// One line per check (`max |cos| (global) 0.3120 > 0.2000`), for the model card.
    public let figures: [String]
    /// Whether the merge went ahead despite a failure (`--force`).
    public var forced: Bool = false

    public var verdict: String {
        passed ? "passed" : (forced ? "FAILED (merge forced with --force)" : "FAILED")
    }
}

extension GateThresholds {
    /// `max |cos| ≤ 0.2 (global), chord residual ≤ 0.1`: the thresholds that are set.
    public var summary: String {
        var parts: [String] = []
        if let maxCosine { parts.append("max |cos| ≤ \(formatNumber(maxCosine)) (\(scope.rawValue))") }
        if let maxChordResidual { parts.append("chord residual ≤ \(formatNumber(maxChordResidual))") }
        if let maxTaylorError { parts.append("Taylor error ≤ \(formatNumber(maxTaylorError))") }
        if let maxAdditivityGap { parts.append("additivity gap ≤ \(formatNumber(maxAdditivityGap))") }
        return parts.joined(separator: ", ")
    }
}

/// The gate as a merge runs it: `--gate max-cosine=X[,scope=S][,max-chord-residual=Y…]` or a config `gate:`
/// block, evaluated by `Analysis.Gate` on the statistics and, for the linearity thresholds, on the probe report
/// given with `--probe` (a merge does not run the model itself).
enum MergeGate {
    /// Refuses a gate with no threshold.
    static func validate(_ thresholds: GateThresholds, file: URL? = nil) throws {
        if thresholds.isEmpty {
            throw MergeConfigError(.missingKey, file: file, "the gate needs a threshold, e.g. max-cosine=0.2")
        }
    }

    /// Parses the command-line form `max-cosine=0.2[,scope=layer]`.
    static func parse(_ text: String) throws -> GateThresholds {
        let thresholds: GateThresholds
        do {
            thresholds = try GateThresholds(parsing: text)
        } catch {
            throw MergeConfigError(.badValue, "--gate: \(error)", cause: error)
        }
        try validate(thresholds)
        return thresholds
    }

    static func evaluate(
        _ thresholds: GateThresholds, statistics: TaskVectorStatistics, probe: URL?
    ) throws -> GateOutcome {
        if thresholds.needsProbe, probe == nil {
            throw MergeConfigError(
                .missingKey,
                "the gate's linearity thresholds need a probe report of these models: write one with `metamerge probe "
                    + "… -o probe.h5` and pass --probe probe.h5"
            )
        }
        let linearity = try probe.map { try ProbeReport.readSummary(from: $0) }
        let verdict = try Gate.evaluate(thresholds, statistics: statistics, linearity: linearity)
        return GateOutcome(
            thresholds: thresholds, passed: verdict.passed, violations: verdict.violations.map(\.description),
            figures: verdict.findings)
    }
}

extension GateThresholds {
    /// Parses `--gate` for a merge: `max-cosine=X[,scope=global|layer|tensor]`.
    public static func merge(parsing text: String) throws -> GateThresholds {
        try MergeGate.parse(text)
    }
}
