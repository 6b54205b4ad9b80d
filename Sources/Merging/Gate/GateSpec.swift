import Analysis
import Foundation

/// The assumption gate a merge must pass before any weight is written: `--gate max-cosine=X[,scope=S]` or a
/// config `gate:` block. It is the orthogonality check of `metamerge check` (MetaGPT's Property 6): no pair of
/// task vectors may have |cos| above `maxCosine`, over the whole model (`global`), within any layer, or within
/// any tensor.
public struct GateSpec: Sendable, Hashable, CustomStringConvertible {
    public enum Scope: String, Sendable, Hashable, CaseIterable {
        case global, layer, tensor
    }

    public var maxCosine: Double?
    public var scope: Scope

    public init(maxCosine: Double? = nil, scope: Scope = .global) {
        self.maxCosine = maxCosine
        self.scope = scope
    }

    /// Parses the command-line form `max-cosine=0.2` or `max-cosine=0.2,scope=layer`.
    public init(parsing text: String) throws {
        self.init()
        for part in text.split(separator: ",") {
            let pieces = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pieces.count == 2 else {
                throw MergeConfigError(.badValue, "--gate: expected key=value pairs such as max-cosine=0.2,scope=layer; got '\(part)'")
            }
            switch pieces[0] {
            case "max-cosine", "max_cosine":
                guard let value = Double(pieces[1]), value.isFinite, value >= 0 else {
                    throw MergeConfigError(.badValue, "--gate: max-cosine must be a number ≥ 0; got '\(pieces[1])'")
                }
                maxCosine = value
            case "scope":
                guard let scope = Scope(rawValue: pieces[1]) else {
                    throw MergeConfigError(.badValue, "--gate: scope must be global, layer or tensor; got '\(pieces[1])'")
                }
                self.scope = scope
            case "max-nonlinearity", "max_nonlinearity":
                throw MergeConfigError(
                    .unsupportedKey,
                    "--gate: max-nonlinearity needs a linearity probe, which a merge does not run; use `metamerge check stats.h5 probe.h5 --max-nonlinearity Y`")
            default:
                throw MergeConfigError(.badValue, "--gate: unknown key '\(pieces[0])' (expected max-cosine, scope)")
            }
        }
        guard maxCosine != nil else {
            throw MergeConfigError(.badValue, "--gate: give a threshold, e.g. --gate max-cosine=0.2")
        }
    }

    public var description: String {
        "max |cos| ≤ \(maxCosine.map { formatNumber($0) } ?? "–") (\(scope.rawValue))"
    }
}

/// What the gate found.
public struct GateOutcome: Sendable, Hashable {
    public let spec: GateSpec
    public let passed: Bool
    /// One line per violation.
    public let violations: [String]
    /// The figures behind the verdict (the largest |cos| found and where), for the model card.
    public let figures: [String]
    /// Whether the merge went ahead despite a failure (`--force`).
    public var forced: Bool = false

    public var verdict: String {
        passed ? "passed" : (forced ? "FAILED (merge forced with --force)" : "FAILED")
    }
}

/// Evaluates a ``GateSpec`` on task-vector statistics.
///
/// This is where the merge calls the gate of `metamerge check`. Until `Analysis.Gate` lands on main this is a
/// stand-in that evaluates the same orthogonality rule from the same statistics (|cos| of each pair of task
/// vectors from the Gram matrices of ``TaskVectorStatistics``; a pair with a zero task vector has no angle and
/// is reported, not read as 0); wiring the real gate replaces the body of ``evaluate(_:statistics:)`` only.
enum MergeGate {
    static func evaluate(_ spec: GateSpec, statistics: TaskVectorStatistics) -> GateOutcome {
        guard let limit = spec.maxCosine else {
            return GateOutcome(spec: spec, passed: true, violations: [], figures: [])
        }
        let names = statistics.taskNames
        var parts: [(label: String, gram: GramMatrix)] = []
        switch spec.scope {
        case .global: parts = [("global", statistics.global.moments.gram)]
        case .layer: parts = statistics.groups.map { ($0.label, $0.moments.gram) }
        case .tensor: parts = statistics.tensors.map { ($0.name, $0.moments.gram) }
        }
        var violations: [String] = []
        var worst: (value: Double, label: String, i: Int, j: Int)?
        var undefined = 0
        for part in parts {
            for i in 0..<names.count {
                for j in (i + 1)..<max(names.count, i + 1) {
                    guard let cosine = part.gram.cosine(i, j) else {
                        undefined += 1
                        continue
                    }
                    let magnitude = abs(cosine)
                    if worst == nil || magnitude > worst!.value { worst = (magnitude, part.label, i, j) }
                    if magnitude > limit {
                        violations.append(
                            String(format: "%@: |cos(%@, %@)| = %.4f > %@", part.label, names[i], names[j], magnitude, formatNumber(limit)))
                    }
                }
            }
        }
        var figures: [String] = []
        if let worst {
            figures.append(
                String(format: "largest |cos| (%@ scope): %.4f between %@ and %@ at %@", spec.scope.rawValue, worst.value, names[worst.i], names[worst.j], worst.label))
        }
        if undefined > 0 {
            figures.append("\(undefined) pair(s) with a zero task vector have no angle and were not checked")
        }
        figures.append("\(violations.count) violation(s) of \(spec)")
        return GateOutcome(spec: spec, passed: violations.isEmpty, violations: violations, figures: figures)
    }
}
