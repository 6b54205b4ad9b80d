import Foundation

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
                "unknown gate key '\(key)'; expected max-cosine, scope, max-chord-residual, max-taylor-error or "
                    + "max-additivity-gap"
            )
        }
    }

    /// Checks that every threshold is a finite number ≥ 0 (`nan`, `inf` and negatives are refused: a gate must not
    /// pass because its threshold is undefined).
    public func validate() throws {
        for (key, value) in [
            ("max-cosine", maxCosine), ("max-chord-residual", maxChordResidual), ("max-taylor-error", maxTaylorError),
            ("max-additivity-gap", maxAdditivityGap),
        ] {
            if let value, !(value.isFinite && value >= 0) {
                throw AnalysisError.badArgument("gate threshold \(key) = \(value) must be a finite number ≥ 0")
            }
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
    /// A figure the gate reads must be defined, or the gate fails naming it:
    /// - non-finite weights (counted by the statistics pass and left out of its sums) fail any cosine check; tensors
    ///   whose statistics come from LoRA factors only (``TaskVectorMoments/coordinateStatistics``) have no such
    ///   count, which the findings say;
    /// - a cosine whose Gram entries are not finite is a violation in every scope;
    /// - a zero task vector (a model identical to the base) is a violation at global scope; at layer or tensor
    ///   scope a cosine undefined because one task left that part unchanged is listed in the findings but is not
    ///   a violation (a frozen tensor does not interfere), unless no cosine at all is defined in that scope;
    /// - a linearity metric that is NaN (a task vector that does not change the outputs) is a violation;
    /// - a chord residual from an α grid without two distinct α, one of them besides 0 and 1, is a violation (it
    ///   reads 0 whatever the model: ``LinearitySummary/chordResidualMeasured``).
    /// Thresholds must be finite and ≥ 0; a probe report must have been made from the same models as the
    /// statistics (their weight fingerprints).
    ///
    /// - Throws: ``AnalysisError`` for a bad threshold, a missing probe report when a linearity threshold is set,
    ///   or a probe report of other models.
    public static func evaluate(
        _ thresholds: GateThresholds, statistics: TaskVectorStatistics, linearity: LinearitySummary? = nil
    ) throws -> GateVerdict {
        try thresholds.validate()
        var violations: [GateViolation] = []
        var findings: [String] = []
        let names = statistics.taskNames
        let modelNames = ["base"] + names
        if let limit = thresholds.maxCosine {
            for (m, count) in statistics.global.moments.nonFinite.enumerated() where count > 0 {
                violations.append(
                    GateViolation(
                        check: "non-finite weights", location: "global", tasks: modelNames[m], value: Double(count),
                        threshold: 0))
                findings.append(
                    "\(count) non-finite weight(s) (NaN or ±Inf) in model '\(modelNames[m])': its statistics are "
                        + "undefined"
                )
            }
            let factorsOnly = statistics.tensors.filter { !$0.moments.coordinateStatistics }.count
            if factorsOnly > 0 {
                findings.append(
                    "non-finite weights not counted in \(factorsOnly) tensor(s) whose task vectors are all LoRA "
                        + "adapters (read from their factors only, the base not read); their Gram entries and "
                        + "cosines are exact from the factors")
            }
            let parts: [(String, GramMatrix)]
            switch thresholds.scope {
            case .global: parts = [("global", statistics.global.moments.gram)]
            case .layer: parts = statistics.groups.map { ($0.label, $0.moments.gram) }
            case .tensor: parts = statistics.tensors.map { ($0.name, $0.moments.gram) }
            }
            var worst = 0.0
            var undefined = 0
            var defined = 0
            var zeroVectors: [String: Int] = [:]
            for (location, gram) in parts {
                for i in 0..<gram.count where gram[i, i] == 0 { zeroVectors[names[i], default: 0] += 1 }
                for i in 0..<gram.count {
                    for j in (i + 1)..<gram.count {
                        let pair = "\(names[i]) · \(names[j])"
                        let entries = [gram[i, i], gram[j, j], gram[i, j]]
                        if !entries.allSatisfy(\.isFinite) {
                            violations.append(
                                GateViolation(
                                    check: "cosine (non-finite Gram entry)", location: location, tasks: pair,
                                    value: .nan,
                                    threshold: limit))
                            continue
                        }
                        guard let cosine = gram.cosine(i, j) else {
                            undefined += 1
                            if thresholds.scope == .global {
                                violations.append(
                                    GateViolation(
                                        check: "cosine (zero task vector)", location: location, tasks: pair,
                                        value: .nan, threshold: limit))
                            }
                            continue
                        }
                        defined += 1
                        worst = max(worst, abs(cosine))
                        if !(abs(cosine) <= limit) {
                            violations.append(
                                GateViolation(
                                    check: "cosine", location: location, tasks: pair, value: abs(cosine),
                                    threshold: limit))
                        }
                    }
                }
            }
            if defined == 0, undefined > 0, thresholds.scope != .global {
                violations.append(
                    GateViolation(
                        check: "cosine (none defined)", location: thresholds.scope.rawValue, tasks: "all pairs",
                        value: .nan,
                        threshold: limit))
            }
            let verdict = worst <= limit ? "≤" : ">"
            findings.append(
                String(format: "max |cos| (%@) %.4f %@ %.4f", thresholds.scope.rawValue, worst, verdict, limit))
            for (task, count) in zeroVectors.sorted(by: { $0.key < $1.key }) {
                findings.append(
                    thresholds.scope == .global
                        ? "task '\(task)' has a zero task vector: the model is identical to the base"
                        : "task '\(task)' leaves \(count) \(thresholds.scope.rawValue)(s) unchanged (zero task vector "
                            + "there)"
                )
            }
            if undefined > 0 {
                findings.append(
                    "\(undefined) cosine(s) undefined in \(thresholds.scope.rawValue) scope (a task vector is zero "
                        + "there)"
                )
            }
        }
        if thresholds.needsProbe {
            guard let linearity else {
                throw AnalysisError.badArgument(
                    "linearity thresholds need a probe report (metamerge probe … -o probe.h5)")
            }
            try checkSameModels(linearity, statistics)
            let checks: [(String, Double?, [(String, Double)])] = [
                ("chord residual", thresholds.maxChordResidual, linearity.chordResidual),
                ("taylor error", thresholds.maxTaylorError, linearity.taylorError),
                ("additivity gap", thresholds.maxAdditivityGap, linearity.additivityGap),
            ]
            for (check, limit, values) in checks {
                guard let limit else { continue }
                if check == "chord residual", !linearity.chordResidualMeasured {
                    let grid = (linearity.alphas ?? []).map { String(format: "%g", $0) }.joined(separator: ", ")
                    findings.append(
                        "chord residual not measured: the probe's α grid [\(grid)] needs at least two distinct α and "
                            + "one besides 0 and 1 (re-run metamerge probe with e.g. --alphas 0:1:0.25)")
                    violations.append(
                        GateViolation(
                            check: "chord residual (α grid measured nothing)", location: "probe",
                            tasks: values.map(\.0).joined(separator: ", "), value: .nan, threshold: limit))
                    continue
                }
                let undefined = values.filter { !$0.1.isFinite }.map(\.0)
                let worst = values.map(\.1).filter(\.isFinite).max() ?? 0
                findings.append(String(format: "max %@ %.4f %@ %.4f", check, worst, worst <= limit ? "≤" : ">", limit))
                if !undefined.isEmpty {
                    findings.append(
                        "\(check) undefined for \(undefined.joined(separator: ", ")) (the task vector does not change "
                            + "the outputs, or the outputs are not finite)"
                    )
                }
                for (who, value) in values where !(value <= limit) {
                    violations.append(
                        GateViolation(
                            check: check, location: "probe", tasks: who, value: value.isFinite ? value : .nan,
                            threshold: limit))
                }
            }
        }
        return GateVerdict(passed: violations.isEmpty, violations: violations, findings: findings)
    }

    /// A probe report must come from the models the statistics describe: the same weight fingerprints per role.
    package static func checkSameModels(_ linearity: LinearitySummary, _ statistics: TaskVectorStatistics) throws {
        let expected = statistics.provenance.models
        guard !expected.isEmpty, let models = linearity.models else { return }
        guard !models.isEmpty else {
            throw AnalysisError.familyMismatch(
                "the probe report records no model fingerprints (written by an older metamerge); re-run metamerge probe"
            )
        }
        let probe = Dictionary(models.map { ($0.fingerprint, $0.role) }, uniquingKeysWith: { a, _ in a })
        for model in expected where probe[model.fingerprint] == nil {
            throw AnalysisError.familyMismatch(
                "the probe report was made from other models than the statistics: no probed model has the weights of "
                    + "'\(model.role)' (\(model.path), fingerprint \(model.fingerprint)); re-run metamerge probe on "
                    + "these models"
            )
        }
        if models.count != expected.count {
            throw AnalysisError.familyMismatch(
                "the probe report ran \(models.count) models, the statistics describe \(expected.count); re-run "
                    + "metamerge probe on these models"
            )
        }
    }
}

/// The linearity figures the gate reads: per task (chord residual, Taylor error) and per pair (additivity gap),
/// each aggregated over prompts as the maximum.
public struct LinearitySummary: Sendable, Hashable {
    public var chordResidual: [(String, Double)]
    public var taylorError: [(String, Double)]
    public var additivityGap: [(String, Double)]
    /// The models the probe ran, with their weight fingerprints: `nil` for a probe run in this process on the
    /// statistics' own family, empty for a report that did not record them (refused by the gate).
    public var models: [Provenance.Model]?
    /// The α grid the probe ran each task on (`/probe/alphas`), `nil` when not known. The chord residual is a
    /// deviation from the chord through α = 0 and α = 1, so it measures something only when the grid holds another α.
    public var alphas: [Double]?

    public init(
        chordResidual: [(String, Double)], taylorError: [(String, Double)], additivityGap: [(String, Double)],
        models: [Provenance.Model]? = nil, alphas: [Double]? = nil
    ) {
        self.chordResidual = chordResidual
        self.taylorError = taylorError
        self.additivityGap = additivityGap
        self.models = models
        self.alphas = alphas
    }

    /// Whether the chord residual was measured: the grid holds at least two distinct α and one besides 0 and 1 (at
    /// α = 0 and α = 1 the output lies on the chord by construction, so a grid of only those reads 0 for any model).
    /// `true` when the grid is not known.
    public var chordResidualMeasured: Bool {
        guard let alphas else { return true }
        let distinct = Set(alphas)
        return distinct.count >= 2 && distinct.contains { $0.isFinite && $0 != 0 && $0 != 1 }
    }

    /// Equal metrics (the models they were measured on are provenance, not compared).
    public static func == (lhs: LinearitySummary, rhs: LinearitySummary) -> Bool {
        lhs.chordResidual.elementsEqual(rhs.chordResidual, by: ==)
            && lhs.taylorError.elementsEqual(rhs.taylorError, by: ==)
            && lhs.additivityGap.elementsEqual(rhs.additivityGap, by: ==)
    }

    public func hash(into hasher: inout Hasher) {
        for (name, value) in chordResidual + taylorError + additivityGap {
            hasher.combine(name)
            hasher.combine(value)
        }
    }
}
