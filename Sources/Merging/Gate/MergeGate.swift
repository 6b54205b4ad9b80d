import Analysis
import Foundation

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
    /// `max |cos| ≤ 0.2 (global)`.
    public var summary: String {
        "max |cos| ≤ \(maxCosine.map { formatNumber($0) } ?? "–") (\(scope.rawValue))"
    }
}

/// The gate as a merge runs it: `--gate max-cosine=X[,scope=S]` or a config `gate:` block, evaluated by
/// `Analysis.Gate` on the statistics. Only the orthogonality threshold applies: the linearity thresholds need a
/// probe report, which a merge does not produce.
enum MergeGate {
    /// Refuses thresholds a merge cannot check.
    static func validate(_ thresholds: GateThresholds, file: URL? = nil) throws {
        if thresholds.needsProbe {
            throw MergeConfigError(
                .unsupportedKey, file: file,
                "the gate's linearity thresholds need a probe report, which a merge does not run; check them first with `metamerge check stats.h5 probe.h5 …`, and gate the merge with max-cosine")
        }
        if thresholds.maxCosine == nil {
            throw MergeConfigError(.missingKey, file: file, "the gate needs a threshold, e.g. max-cosine=0.2")
        }
    }

    /// Parses the command-line form `max-cosine=0.2[,scope=layer]`.
    static func parse(_ text: String) throws -> GateThresholds {
        let thresholds: GateThresholds
        do {
            thresholds = try GateThresholds(parsing: text)
        } catch {
            throw MergeConfigError(.badValue, "--gate: \(error)")
        }
        try validate(thresholds)
        return thresholds
    }

    static func evaluate(_ thresholds: GateThresholds, statistics: TaskVectorStatistics) throws -> GateOutcome {
        let verdict = try Gate.evaluate(thresholds, statistics: statistics)
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
