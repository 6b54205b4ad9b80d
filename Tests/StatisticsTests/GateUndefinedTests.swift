import Foundation
import Statistics
import Testing

/// Statistics built by hand (known answers), for what the gate does with undefined numbers.
@Suite("The gate on undefined numbers")
struct GateUndefinedTests {
    /// Three tasks over two tensors of layer 0; `gram` is each tensor's Gram matrix (row-major 3×3).
    static func statistics(_ grams: [[Double]], nonFinite: [Int] = [0, 0, 0, 0]) -> TaskVectorStatistics {
        let tensors = grams.enumerated().map { index, entries in
            var moments = TaskVectorMoments(taskCount: 3)
            moments.elements = 10
            moments.gram = GramMatrix(count: 3, entries: entries)
            moments.baseSquaredNorm = 1
            moments.nonFinite = index == 0 ? nonFinite : [0, 0, 0, 0]
            return TensorStatistics(
                name: "model.layers.0.t\(index).weight", shape: [10], trimmed: false, moments: moments)
        }
        return TaskVectorStatistics(
            taskNames: ["a", "b", "c"], tensors: tensors, problems: [],
            provenance: Provenance(toolVersion: "test", createdUTC: "", commandLine: "", models: []))
    }

    static let orthogonal: [Double] = [1, 0, 0, 0, 1, 0, 0, 0, 1]

    /// One NaN Gram entry must not hide a violation elsewhere, nor pass itself.
    @Test(arguments: [GateScope.global, .layer, .tensor])
    func aNaNGramEntryFailsTheGate(scope: GateScope) throws {
        var broken = Self.orthogonal
        broken[1] = .nan
        broken[3] = .nan
        let verdict = try Gate.evaluate(
            GateThresholds(maxCosine: 0.5, scope: scope), statistics: Self.statistics([broken, Self.orthogonal]))
        #expect(!verdict.passed)
        #expect(verdict.violations.contains { $0.value.isNaN })
    }

    @Test func nonFiniteWeightsFailTheGateNamingTheModel() throws {
        let verdict = try Gate.evaluate(
            GateThresholds(maxCosine: 0.5), statistics: Self.statistics([Self.orthogonal], nonFinite: [0, 0, 3, 0]))
        #expect(!verdict.passed)
        #expect(verdict.violations.contains { $0.check == "non-finite weights" && $0.tasks == "b" && $0.value == 3 })
    }

    /// A zero task vector: a violation at global scope; at layer or tensor scope a finding, unless nothing at all is
    /// defined there.
    @Test func zeroTaskVectorsInEveryScope() throws {
        let zeroC: [Double] = [1, 0.9, 0, 0.9, 1, 0, 0, 0, 0]
        let statistics = Self.statistics([zeroC])
        let global = try Gate.evaluate(GateThresholds(maxCosine: 0.95), statistics: statistics)
        #expect(!global.passed && global.findings.contains { $0.contains("task 'c' has a zero task vector") })
        let layer = try Gate.evaluate(GateThresholds(maxCosine: 0.95, scope: .layer), statistics: statistics)
        #expect(layer.passed && layer.findings.contains { $0.contains("task 'c' leaves 1 layer(s) unchanged") })
        let allZero = Self.statistics([[0, 0, 0, 0, 0, 0, 0, 0, 0]])
        let tensor = try Gate.evaluate(GateThresholds(maxCosine: 0.95, scope: .tensor), statistics: allZero)
        #expect(!tensor.passed && tensor.violations.contains { $0.check == "cosine (none defined)" })
    }

    @Test(arguments: [Double.nan, .infinity, -0.1])
    func thresholdsMustBeFiniteAndNonNegative(threshold: Double) {
        #expect(throws: AnalysisError.self) {
            try Gate.evaluate(GateThresholds(maxCosine: threshold), statistics: Self.statistics([Self.orthogonal]))
        }
        #expect(throws: AnalysisError.self) {
            try Gate.evaluate(
                GateThresholds(maxChordResidual: threshold), statistics: Self.statistics([Self.orthogonal]),
                linearity: LinearitySummary(chordResidual: [("a", 0)], taylorError: [], additivityGap: []))
        }
    }

    @Test func undefinedLinearityMetricsFail() throws {
        let linearity = LinearitySummary(
            chordResidual: [("a", 0.01), ("b", .nan)], taylorError: [], additivityGap: [("a · b", .infinity)])
        let verdict = try Gate.evaluate(
            GateThresholds(maxChordResidual: 0.1, maxAdditivityGap: 0.1),
            statistics: Self.statistics([Self.orthogonal]),
            linearity: linearity)
        #expect(!verdict.passed)
        #expect(Set(verdict.violations.map(\.tasks)) == ["b", "a · b"])
    }
}
