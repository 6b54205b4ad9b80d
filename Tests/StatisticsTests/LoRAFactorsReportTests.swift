import Foundation
import HDF5
import Statistics
import Testing

/// "Not computed" per-coordinate statistics (a family of LoRA adapters analysed from their factors only): how they
/// add up over tensors, and how a report without the `coordinate_stats` flag (written before it existed) is read.
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

    /// A report without `/tensors/coordinate_stats` (and the groups' flags) reads as before: every tensor computed,
    /// the same statistics as the report with the flags.
    @Test func aReportWithoutTheFlagIsReadAsComputed() throws {
        let synthetic = try SyntheticFamily.handWorked()
        let statistics = try StatisticsPass().run(synthetic.family)
        let current = synthetic.root.appendingPathComponent("current.h5")
        try AnalysisReport.write(statistics, to: current)
        let older = synthetic.root.appendingPathComponent("older.h5")
        let input = try HDF5File.open(at: current)
        let output = try HDF5File.create(at: older)
        for name in try input.root.attributeNames() {
            try output.root.setAttribute(name, try input.root.attribute(name))
        }
        func copy(_ group: HDF5Group, into target: HDF5Group) throws {
            for name in try group.memberNames() where name != "coordinate_stats" {
                if try group.kind(of: name) == .group {
                    try copy(try group.group(name), into: try target.createGroup(name))
                    continue
                }
                let dataset = try group.dataset(name)
                switch try dataset.elementType {
                case .string: try target.createDataset(name, strings: try dataset.readStrings())
                case .float64: try target.createDataset(name, array: try dataset.read(Double.self))
                case .int64: try target.createDataset(name, array: try dataset.read(Int64.self))
                default: try target.createDataset(name, array: try dataset.read(UInt8.self))
                }
            }
        }
        try copy(input.root, into: output.root)
        try output.close()
        try input.close()
        let check = try HDF5File.open(at: older)
        let hasFlag = try check.root.group("tensors").exists("coordinate_stats")
        try check.close()
        #expect(!hasFlag)
        let read = try AnalysisReport.read(from: older)
        #expect(read.tensors.allSatisfy { $0.moments.coordinateStatistics })
        let original = try AnalysisReport.read(from: current)
        #expect(read.tensors == original.tensors)
    }
}
