import Foundation
import Statistics
import Testing

/// "Not computed" per-coordinate statistics (a family of LoRA adapters analysed from their factors only): how they
/// add up over tensors.
@Suite("coordinate_stats: statistics not computed from LoRA factors")
struct LoRAFactorsReportTests {
    /// A part without coordinate statistics makes the sum lack them: Σ|τ|, max|τ|, ‖θ0‖² NaN, counts 0, the rates
    /// NaN; the Gram matrix, Σ τ, the count and the standard deviation still add. Before, there was no such flag.
    @Test func aSumLacksCoordinateStatisticsWhenAPartDoes() {
        var computed = TaskVectorMoments(taskCount: 2)
        computed.elements = 4
        computed.gram = GramMatrix(count: 2, entries: [4, 1, 1, 9])
        computed.sum = [2, -1]
        computed.absoluteSum = [2, 3]
        computed.maxAbsolute = [1, 2]
        computed.zeros = [1, 0]
        computed.signConflicts = 1
        computed.baseSquaredNorm = 16
        var fromFactors = TaskVectorMoments(taskCount: 2)
        fromFactors.elements = 4
        fromFactors.gram = GramMatrix(count: 2, entries: [1, 0, 0, 1])
        fromFactors.sum = [1, 1]
        fromFactors.markCoordinateStatisticsNotComputed()
        var total = computed
        total.add(fromFactors)
        #expect(!total.coordinateStatistics)
        #expect(total.elements == 8 && total.gram.entries == [5, 1, 1, 10] && total.sum == [3, 0])
        #expect(total.absoluteSum.allSatisfy(\.isNaN) && total.maxAbsolute.allSatisfy(\.isNaN))
        #expect(total.baseSquaredNorm.isNaN && total.relativeNorms.allSatisfy(\.isNaN))
        #expect(total.zeros == [0, 0] && total.signConflicts == 0 && total.nonFinite == [0, 0, 0])
        #expect(total.zeroFraction.allSatisfy(\.isNaN) && total.signConflictRate.isNaN)
        // √(Σ τ²/n − (Σ τ/n)²) from the Gram diagonal and Σ τ: task 0 √(5/8 − (3/8)²).
        #expect(abs(total.standardDeviation[0] - (5.0 / 8 - 9.0 / 64).squareRoot()) < 1e-15)
        #expect(computed.coordinateStatistics && computed.signConflictRate == 0.25)
    }
}
