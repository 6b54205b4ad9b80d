import Testing

@testable import Analysis

/// The moments kernel's fast path (the C loops of `CKernels` for one to three tasks, the Swift loop for more) against
/// the definitions, coordinate by coordinate, on values whose every sum is exact in Float64 in any order: multiples
/// of 1/8 of magnitude ≤ 8 over 32 771 coordinates (two full blocks and a ragged tail), so every figure must be
/// equal, not close — which checks that each accumulator of the C loops lands in its own field.
@Suite("Moments kernel: fast path equals the definitions on exactly summable values")
struct MomentsKernelExactTests {
    /// A fixed pseudo-random sequence of k/8, −64 ≤ k ≤ 64, with runs of zeros and repeated values.
    static func values(seed: UInt64, count: Int) -> [Float] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let k = Int((state >> 33) % 129) - 64
            return Float(k % 5 == 0 ? 0 : k) / 8
        }
    }

    static func reference(_ models: [[Float]]) -> TaskVectorMoments {
        let tasks = models.count - 1
        var m = TaskVectorMoments(taskCount: tasks)
        for i in 0..<models[0].count {
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

    @Test(arguments: [1, 2, 3, 4])
    func fastPathIsExact(tasks: Int) {
        let count = 2 * MomentsKernel.blockSize + 3
        // Task t equals the base on a stretch, so zero counts are not trivially 0.
        let base = Self.values(seed: 7, count: count)
        let models =
            [base]
            + (1...tasks).map { t in
                var x = Self.values(seed: 100 + UInt64(t), count: count)
                for i in stride(from: t * 1000, to: t * 1000 + 4096, by: 1) { x[i] = base[i] }
                return x
            }
        var moments = TaskVectorMoments(taskCount: tasks)
        let buffers = models.map { values in
            let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: count)
            _ = buffer.initialize(from: values)
            return buffer
        }
        defer { for buffer in buffers { buffer.deallocate() } }
        let pointers = buffers.map { UnsafeRawPointer($0.baseAddress!) }
        pointers.withUnsafeBufferPointer { sources in
            MomentsKernel(taskCount: tasks).accumulate(sources, Float32Lanes.self, count: count, into: &moments)
        }
        let expected = Self.reference(models)
        #expect(moments.elements == expected.elements)
        #expect(moments.baseSquaredNorm == expected.baseSquaredNorm)
        #expect(moments.sum == expected.sum)
        #expect(moments.absoluteSum == expected.absoluteSum)
        #expect(moments.maxAbsolute == expected.maxAbsolute)
        #expect(moments.zeros == expected.zeros)
        #expect(moments.signConflicts == expected.signConflicts)
        #expect(moments.nonFinite == expected.nonFinite)
        for a in 0..<tasks {
            for c in 0..<tasks { #expect(moments.gram[a, c] == expected.gram[a, c], "gram[\(a), \(c)]") }
        }
        #expect(expected.zeros.allSatisfy { $0 > 4096 } && (tasks == 1 || expected.signConflicts > 0))
    }
}
