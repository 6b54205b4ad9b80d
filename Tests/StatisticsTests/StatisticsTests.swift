import Checkpoints
import Foundation
import SafeTensors
import TestSupport
import Testing

@testable import Statistics

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

/// The specialised kernels (one, two, three tasks; any count) and both ways of reading, against a plain Float64
/// loop over the same stored values written in this file (`referenceMoments`): one coordinate at a time, in the
/// definitions' own words. Sizes cross the 16384-coordinate kernel blocks and the 32768-coordinate read pieces and
/// leave remainders mod 4; values include exact zeros, equal weights, both signs and, in one block, NaN and ±inf.
@Suite("Statistics kernels against a scalar Float64 loop")
struct StatisticsKernelTests {
    static let name = "model.layers.0.w"

    /// Deterministic values: multiples of 1/64 in [−2, 2) (exact in BF16 and F32), a quarter of the task
    /// differences exactly 0.
    static func values(count: Int, seed: UInt64) -> [Float] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int((state >> 33) % 256) - 128) / 64
        }
    }

    static func family(tasks: Int, count: Int, dtype: DType = .f32, nonFinite: Bool = false) throws -> SyntheticFamily {
        let base = values(count: count, seed: 1)
        let tau: [[Float]] = (0..<tasks).map { t in
            var delta = values(count: count, seed: UInt64(t + 2)).enumerated().map { i, v in i % 4 == t % 4 ? 0 : v }
            if nonFinite {
                delta[20_000 + t] = .nan
                delta[20_010] = t == 0 ? .infinity : delta[20_010]
                delta[40_001] = t == tasks - 1 ? -.infinity : delta[40_001]
            }
            return delta
        }
        return try SyntheticFamily(
            shapes: [name: [count]], base: [name: base], tau: [name: tau], taskNames: (0..<tasks).map { "t\($0)" },
            config: ["architectures": ["LlamaForCausalLM"], "num_hidden_layers": 1], dtype: dtype)
    }

    /// The definitions, one coordinate at a time, over the values the family stores.
    static func referenceMoments(_ family: ModelFamily, tasks: Int, count: Int) throws -> TaskVectorMoments {
        let tensor = family.tensors[0]
        let models = try (0...tasks).map { model in
            var buffer = [Float](repeating: 0, count: count)
            try buffer.withUnsafeMutableBufferPointer {
                try family.readFloat32(tensor, model: model, elements: 0..<count, into: $0)
            }
            return buffer
        }
        var m = TaskVectorMoments(taskCount: tasks)
        for i in 0..<count {
            var finite = true
            for model in 0...tasks where !models[model][i].isFinite {
                m.nonFinite[model] += 1
                finite = false
            }
            guard finite else { continue }
            let b = Double(models[0][i])
            let tau = (1...tasks).map { Double(models[$0][i]) - b }
            m.elements += 1
            m.baseSquaredNorm += b * b
            for t in 0..<tasks {
                m.sum[t] += tau[t]
                m.absoluteSum[t] += abs(tau[t])
                m.maxAbsolute[t] = max(m.maxAbsolute[t], abs(tau[t]))
                m.zeros[t] += tau[t] == 0 ? 1 : 0
                for c in 0..<tasks { m.gram[t, c] += tau[t] * tau[c] }
            }
            if tasks > 1 && tau.contains(where: { $0 > 0 }) && tau.contains(where: { $0 < 0 }) { m.signConflicts += 1 }
        }
        return m
    }

    static func expectClose(_ a: Double, _ b: Double) {
        #expect(abs(a - b) <= 1e-12 * max(abs(b), 1), "\(a) vs \(b)")
    }

    static func expectMatches(_ moments: TaskVectorMoments, _ reference: TaskVectorMoments) {
        #expect(moments.elements == reference.elements)
        #expect(moments.zeros == reference.zeros)
        #expect(moments.nonFinite == reference.nonFinite)
        #expect(moments.signConflicts == reference.signConflicts)
        #expect(moments.maxAbsolute == reference.maxAbsolute)
        expectClose(moments.baseSquaredNorm, reference.baseSquaredNorm)
        for t in 0..<reference.taskCount {
            expectClose(moments.sum[t], reference.sum[t])
            expectClose(moments.absoluteSum[t], reference.absoluteSum[t])
        }
        for (entry, expected) in zip(moments.gram.entries, reference.gram.entries) { expectClose(entry, expected) }
    }

    @Test(arguments: [1, 2, 3, 4, 5])
    func everyTaskCountMatchesTheScalarLoop(tasks: Int) throws {
        let count = 2 * 32768 + 4099
        for nonFinite in [false, true] {
            let synthetic = try Self.family(tasks: tasks, count: count, nonFinite: nonFinite)
            let reference = try Self.referenceMoments(synthetic.family, tasks: tasks, count: count)
            #expect(reference.signConflicts > 0 || tasks == 1)
            #expect(reference.zeros.allSatisfy { $0 > count / 8 })
            for chunk in [1 << 20, 16384, 1000] {
                let pass = StatisticsPass(threads: 2, chunkElements: chunk)
                Self.expectMatches(try pass.run(synthetic.family).global.moments, reference)
            }
        }
    }

    /// Chunk sums are added in chunk order, whichever worker computed them: one thread or three give bit-for-bit
    /// equal sums, for every stored dtype.
    @Test(arguments: [DType.f32, .bf16, .f16, .f64])
    func threadCountDoesNotChangeTheSums(dtype: DType) throws {
        let synthetic = try Self.family(tasks: 3, count: 40_003, dtype: dtype, nonFinite: true)
        let one = try StatisticsPass(threads: 1, chunkElements: 5_000).run(synthetic.family)
        let three = try StatisticsPass(threads: 3, chunkElements: 5_000).run(synthetic.family)
        #expect(one.tensors.map(\.moments) == three.tensors.map(\.moments))
    }

    /// A weight file cut short after the family was opened is an error naming the file, not a crash (a read
    /// through the mapping past the new end would raise SIGBUS).
    @Test func fileTruncatedWhileOpenIsAnError() throws {
        let synthetic = try Self.family(tasks: 2, count: 40_003)
        let url = synthetic.root.appendingPathComponent("t1/model.safetensors")
        let handle = try FileHandle(forWritingTo: url)
        try handle.truncate(atOffset: 50_000)
        try handle.close()
        let error = #expect(throws: SafeTensorsError.self) { try StatisticsPass(threads: 2).run(synthetic.family) }
        #expect(error?.kind == .dataSizeMismatch)
        #expect(error?.file.path.hasSuffix("t1/model.safetensors") == true)
    }

    /// BF16, F16 and F64 storage of values exact in every dtype give the F32 family's statistics bit for bit, for
    /// the one-, two- and three-task kernels and the general one.
    @Test(arguments: [1, 2, 3, 4])
    func storageDtypesAgreeBitForBit(tasks: Int) throws {
        let reference = try StatisticsPass(threads: 2).run(
            Self.family(tasks: tasks, count: 40_003, nonFinite: true).family)
        for dtype in [DType.bf16, .f16, .f64] {
            let other = try StatisticsPass(threads: 2).run(
                Self.family(tasks: tasks, count: 40_003, dtype: dtype, nonFinite: true).family)
            #expect(other.tensors.map(\.moments) == reference.tensors.map(\.moments))
        }
    }
}
