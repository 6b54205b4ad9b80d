import Analysis
import Checkpoints
import Foundation
import SafeTensors
import Testing
import TestSupport

@Suite("Task-vector statistics on a family with known answers")
struct SyntheticStatisticsTests {
    @Test func handWorkedFigures() throws {
        let synthetic = try SyntheticFamily.handWorked()
        let statistics = try StatisticsPass(threads: 2).run(synthetic.family)
        #expect(statistics.taskNames == ["one", "two"])
        #expect(statistics.tensors.map(\.name) == ["model.layers.0.a.weight", "model.layers.1.b.weight"])

        let layer0 = statistics.tensors[0].moments
        #expect(layer0.gram.entries == [25, 0, 0, 25])
        #expect(layer0.gram.cosine(0, 1) == 0)
        #expect(layer0.baseSquaredNorm == 6)
        #expect(layer0.zeros == [4, 4])
        #expect(layer0.signConflicts == 1)
        #expect(layer0.maxAbsolute == [4, 4])
        #expect(layer0.sum == [7, 1])
        #expect(layer0.absoluteSum == [7, 7])

        let layer1 = statistics.tensors[1].moments
        #expect(layer1.gram.entries == [1, 1, 1, 2])
        #expect(abs(layer1.gram.cosine(0, 1)! - 1 / 2.0.squareRoot()) < 1e-15)
        #expect(layer1.signConflicts == 0)

        let global = statistics.global.moments
        #expect(global.gram.entries == [26, 1, 1, 27])
        #expect(global.elements == 10)
        #expect(abs(global.gram.cosine(0, 1)! - 1 / (26.0 * 27).squareRoot()) < 1e-15)
        let lambdas: [Double] = [26.0 / 53, 27.0 / 53]
        #expect(statistics.metagptLambdas == lambdas)
        #expect(abs(global.relativeNorms[0] - (26.0 / 10).squareRoot()) < 1e-15)
        #expect(global.signConflictRate == 0.1)
        #expect(global.zeroFraction == [0.7, 0.6])
        // std of τ1 over 10 coordinates: mean 0.8, E[τ²] 2.6 → √(2.6 − 0.64).
        #expect(abs(global.standardDeviation[0] - (2.6 - 0.64).squareRoot()) < 1e-15)

        #expect(statistics.groups.map(\.label) == ["layers.0", "layers.1"])
        let perTensor: [Double] = [1.0 / 3, 2.0 / 3]
        #expect(statistics.tensors[1].metagptLambdas == perTensor)
        #expect(statistics.provenance.models.map(\.role) == ["base", "one", "two"])
        #expect(statistics.provenance.models.allSatisfy { $0.fingerprint.count == 16 })
    }

    /// Chunk sums are added per tensor in chunk order, so neither the thread count nor the chunk size changes
    /// more than rounding.
    @Test(arguments: [(1, 1), (2, 3), (3, 1 << 20)])
    func independentOfThreadsAndChunks(threads: Int, chunk: Int) throws {
        let synthetic = try SyntheticFamily.handWorked()
        let statistics = try StatisticsPass(threads: threads, chunkElements: chunk).run(synthetic.family)
        #expect(statistics.global.moments.gram.entries == [26, 1, 1, 27])
        #expect(statistics.global.moments.signConflicts == 1)
    }

    @Test func exactlyOrthogonalAndParallelVectors() throws {
        let n = 5000
        let e1 = (0..<n).map { Float($0 % 2 == 0 ? 1 : 0) }
        let e2 = (0..<n).map { Float($0 % 2 == 1 ? 1 : 0) }
        let twice = e1.map { $0 * 2 }
        let synthetic = try SyntheticFamily(
            shapes: ["model.layers.0.w": [n]], base: ["model.layers.0.w": [Float](repeating: 0.25, count: n)],
            tau: ["model.layers.0.w": [e1, e2, twice]], taskNames: ["a", "b", "c"])
        let gram = try StatisticsPass(threads: 2, chunkElements: 777).run(synthetic.family).global.moments.gram
        #expect(gram.cosine(0, 1) == 0)
        #expect(gram.cosine(0, 2) == 1)
        #expect(gram.cosine(1, 2) == 0)
        let expected: [Double] = [2500.0 / 15000, 2500.0 / 15000, 10000.0 / 15000]  // ‖2·e1‖² = 4 · 2500
        #expect(gram.metagptLambdas == expected)
    }

    /// BF16 is read in place and F16 / F64 through decoding buffers; with values every dtype holds exactly, the
    /// statistics equal the F32 family's bit for bit.
    @Test(arguments: [DType.bf16, .f16, .f64])
    func storageDtypesGiveTheSameStatistics(dtype: DType) throws {
        let n = 3000
        let base: [Float] = (0..<n).map { (i: Int) -> Float in Float((i * 37) % 64 - 32) / 16 }
        let first: [Float] = (0..<n).map { (i: Int) -> Float in Float((i * 11) % 16 - 8) / 8 }
        let second: [Float] = (0..<n).map { (i: Int) -> Float in Float((i * 5) % 16 - 7) / 4 }
        let tau = [first, second]
        func statistics(_ dtype: DType) throws -> TaskVectorStatistics {
            let family = try SyntheticFamily(
                shapes: ["model.layers.0.w": [n]], base: ["model.layers.0.w": base], tau: ["model.layers.0.w": tau],
                taskNames: ["a", "b"], dtype: dtype)
            return try StatisticsPass(threads: 2, chunkElements: 1000).run(family.family)
        }
        let reference = try statistics(.f32)
        let other = try statistics(dtype)
        #expect(other.tensors.map(\.moments) == reference.tensors.map(\.moments))
        #expect(reference.global.moments.gram.entries[0] > 0)
    }

    @Test func zeroTaskVectorHasUndefinedCosineAndUniformLambdaWhenAllZero() throws {
        let synthetic = try SyntheticFamily(
            shapes: ["model.layers.0.w": [3]], base: ["model.layers.0.w": [1, 2, 3]],
            tau: ["model.layers.0.w": [[0, 0, 0], [0, 0, 0]]], taskNames: ["a", "b"])
        let statistics = try StatisticsPass().run(synthetic.family)
        #expect(statistics.global.moments.gram.cosine(0, 1) == nil)
        #expect(statistics.metagptLambdas == [0.5, 0.5])
    }

    @Test func nonFiniteCoordinatesAreCountedAndLeftOut() throws {
        let synthetic = try SyntheticFamily(
            shapes: ["model.layers.0.w": [4]], base: ["model.layers.0.w": [1, 1, 1, 1]],
            tau: ["model.layers.0.w": [[1, .nan, 0, 2], [1, 1, .infinity, 0]]], taskNames: ["a", "b"])
        let moments = try StatisticsPass().run(synthetic.family).global.moments
        #expect(moments.nonFinite == [0, 1, 1])
        #expect(moments.elements == 2)
        #expect(moments.gram.entries == [5, 1, 1, 1])
    }
}
