/// Where the orthogonality gate looks: the whole parameter vector, each layer, or each tensor.
public enum GateScope: String, Sendable, CaseIterable, Codable {
    case global, layer, tensor
}

/// The thresholds a family must meet before it is merged with data-free coefficients. A `nil` threshold is not
/// checked.
public struct GateThresholds: Sendable, Hashable {
    /// Largest |cos(τi, τj)|, i ≠ j, allowed in ``scope``.
    public var maxCosine: Double?
    public var scope: GateScope
    /// Largest chord residual of any task (linearity probe).
    public var maxChordResidual: Double?
    /// Largest first-order (Taylor) error of any task (linearity probe).
    public var maxTaylorError: Double?
    /// Largest additivity gap of any pair of tasks (linearity probe).
    public var maxAdditivityGap: Double?

    public init(
        maxCosine: Double? = nil, scope: GateScope = .global, maxChordResidual: Double? = nil,
        maxTaylorError: Double? = nil, maxAdditivityGap: Double? = nil
    ) {
        self.maxCosine = maxCosine
        self.scope = scope
        self.maxChordResidual = maxChordResidual
        self.maxTaylorError = maxTaylorError
        self.maxAdditivityGap = maxAdditivityGap
    }

    /// Parses `max-cosine=0.1,scope=layer,max-chord-residual=0.2` (keys also accepted with underscores).
    ///
    /// - Throws: ``AnalysisError`` naming the unknown key or the bad value.
    public init(parsing text: String) throws {
        self.init()
        for item in text.split(separator: ",") {
            let parts = item.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2 else {
                throw AnalysisError.badArgument("gate item '\(item)' is not key=value (e.g. max-cosine=0.1)")
            }
            try set(parts[0].replacingOccurrences(of: "_", with: "-"), parts[1])
        }
    }

    /// Sets one threshold by its command-line key (`max-cosine`, `scope`, `max-chord-residual`, `max-taylor-error`,
    /// `max-additivity-gap`).
    public mutating func set(_ key: String, _ value: String) throws {
        if key == "scope" {
            guard let scope = GateScope(rawValue: value) else {
                throw AnalysisError.badArgument("gate scope '\(value)' is not one of global, layer, tensor")
            }
            self.scope = scope
            return
        }
        guard let number = Double(value), number.isFinite, number >= 0 else {
            throw AnalysisError.badArgument("gate threshold \(key)=\(value) is not a non-negative number")
        }
        switch key {
        case "max-cosine": maxCosine = number
        case "max-chord-residual": maxChordResidual = number
        case "max-taylor-error": maxTaylorError = number
        case "max-additivity-gap": maxAdditivityGap = number
        default:
            throw AnalysisError.badArgument(
                "unknown gate key '\(key)'; expected max-cosine, scope, max-chord-residual, max-taylor-error or max-additivity-gap")
        }
    }

    /// Whether any linearity threshold is set (the probe report is then required).
    public var needsProbe: Bool { maxChordResidual != nil || maxTaylorError != nil || maxAdditivityGap != nil }
    /// Whether any threshold at all is set.
    public var isEmpty: Bool { maxCosine == nil && !needsProbe }
}

/// One figure over its threshold.
public struct GateViolation: Sendable, Hashable, CustomStringConvertible {
    /// What failed: `cosine`, `chord residual`, `taylor error`, `additivity gap`.
    public let check: String
    /// Where: `global`, `layers.3`, a tensor name, a task name.
    public let location: String
    /// Which tasks: `add · rev`, or one task name.
    public let tasks: String
    /// The figure; NaN when it is undefined (a zero task vector).
    public let value: Double
    public let threshold: Double

    public var description: String {
        let shown = value.isNaN ? "undefined" : String(format: "%.4f", value)
        return "\(check) \(location) [\(tasks)]: \(shown) > \(String(format: "%.4f", threshold))"
    }
}

/// The gate's verdict: passed or not, the violations, and one plain line per check.
public struct GateVerdict: Sendable, Hashable {
    public let passed: Bool
    public let violations: [GateViolation]
    /// One line per check, e.g. `max |cos| (global) 0.031 ≤ 0.100`.
    public let findings: [String]
}

/// The gate: checks a family's statistics (and linearity metrics, when given) against thresholds.
public enum Gate {
    /// Evaluates `thresholds` on `statistics` and, for the linearity thresholds, `linearity`.
    ///
    /// Cosines are taken over pairs i < j in the chosen scope. An undefined cosine (a task vector that is zero in
    /// that scope) is a violation at global scope — a task model identical to the base is a mistake — and at
    /// layer or tensor scope is listed in the findings but not a violation (a frozen tensor does not interfere).
    ///
    /// - Throws: ``AnalysisError`` when a linearity threshold is set and `linearity` is `nil`.
    public static func evaluate(
        _ thresholds: GateThresholds, statistics: TaskVectorStatistics, linearity: LinearitySummary? = nil
    ) throws -> GateVerdict {
        var violations: [GateViolation] = []
        var findings: [String] = []
        let names = statistics.taskNames
        if let limit = thresholds.maxCosine {
            let parts: [(String, GramMatrix)]
            switch thresholds.scope {
            case .global: parts = [("global", statistics.global.moments.gram)]
            case .layer: parts = statistics.groups.map { ($0.label, $0.moments.gram) }
            case .tensor: parts = statistics.tensors.map { ($0.name, $0.moments.gram) }
            }
            var worst = 0.0
            var undefined = 0
            for (location, gram) in parts {
                for i in 0..<gram.count {
                    for j in (i + 1)..<gram.count {
                        let pair = "\(names[i]) · \(names[j])"
                        guard let cosine = gram.cosine(i, j) else {
                            undefined += 1
                            if thresholds.scope == .global {
                                violations.append(GateViolation(check: "cosine", location: location, tasks: pair, value: .nan, threshold: limit))
                            }
                            continue
                        }
                        worst = max(worst, abs(cosine))
                        if abs(cosine) > limit {
                            violations.append(GateViolation(check: "cosine", location: location, tasks: pair, value: abs(cosine), threshold: limit))
                        }
                    }
                }
            }
            let verdict = worst <= limit ? "≤" : ">"
            findings.append(String(format: "max |cos| (%@) %.4f %@ %.4f", thresholds.scope.rawValue, worst, verdict, limit))
            if undefined > 0 {
                findings.append("\(undefined) cosine(s) undefined in \(thresholds.scope.rawValue) scope (a task vector is zero there)")
            }
        }
        if thresholds.needsProbe {
            guard let linearity else {
                throw AnalysisError.badArgument("linearity thresholds need a probe report (metamerge probe … -o probe.h5)")
            }
            let checks: [(String, Double?, [(String, Double)])] = [
                ("chord residual", thresholds.maxChordResidual, linearity.chordResidual),
                ("taylor error", thresholds.maxTaylorError, linearity.taylorError),
                ("additivity gap", thresholds.maxAdditivityGap, linearity.additivityGap),
            ]
            for (check, limit, values) in checks {
                guard let limit else { continue }
                let worst = values.map(\.1).max() ?? 0
                findings.append(String(format: "max %@ %.4f %@ %.4f", check, worst, worst <= limit ? "≤" : ">", limit))
                for (who, value) in values where !(value <= limit) {
                    violations.append(GateViolation(check: check, location: "probe", tasks: who, value: value, threshold: limit))
                }
            }
        }
        return GateVerdict(passed: violations.isEmpty, violations: violations, findings: findings)
    }
}

/// The linearity figures the gate reads: per task (chord residual, Taylor error) and per pair (additivity gap),
/// each aggregated over prompts as the maximum.
public struct LinearitySummary: Sendable, Hashable {
    public var chordResidual: [(String, Double)]
    public var taylorError: [(String, Double)]
    public var additivityGap: [(String, Double)]

    public init(chordResidual: [(String, Double)], taylorError: [(String, Double)], additivityGap: [(String, Double)]) {
        self.chordResidual = chordResidual
        self.taylorError = taylorError
        self.additivityGap = additivityGap
    }

    public static func == (lhs: LinearitySummary, rhs: LinearitySummary) -> Bool {
        lhs.chordResidual.elementsEqual(rhs.chordResidual, by: ==) && lhs.taylorError.elementsEqual(rhs.taylorError, by: ==)
            && lhs.additivityGap.elementsEqual(rhs.additivityGap, by: ==)
    }

    public func hash(into hasher: inout Hasher) {
        for (name, value) in chordResidual + taylorError + additivityGap {
            hasher.combine(name)
            hasher.combine(value)
        }
    }
}

import Foundation
