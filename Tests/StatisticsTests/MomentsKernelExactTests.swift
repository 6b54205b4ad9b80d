import Testing

@testable import Statistics

/// The moments kernel's fast path (the C loops of `CKernels` for one to three tasks, the Swift loop for more) against
/// the definitions, statistic by statistic, on values whose every sum is exact in Float64 in any order: multiples
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
        // The definitions, one statistic at a time (every sum is exact, so the order does not matter).
        let tau = (1...tasks).map { t in zip(models[t], base).map { Double($0) - Double($1) } }
        func total(_ values: [Double]) -> Double { values.reduce(0, +) }
        #expect(moments.elements == count)
        #expect(moments.baseSquaredNorm == total(base.map { Double($0) * Double($0) }))
        #expect(moments.sum == tau.map(total))
        #expect(moments.absoluteSum == tau.map { total($0.map(abs)) })
        #expect(moments.maxAbsolute == tau.map { $0.map(abs).max()! })
        #expect(moments.zeros == tau.map { $0.filter { $0 == 0 }.count })
        #expect(moments.nonFinite == [Int](repeating: 0, count: tasks + 1))
        let conflicts = (0..<count).filter { i in tau.contains { $0[i] > 0 } && tau.contains { $0[i] < 0 } }.count
        #expect(moments.signConflicts == (tasks > 1 ? conflicts : 0))
        for a in 0..<tasks {
            for c in 0..<tasks {
                #expect(moments.gram[a, c] == total(zip(tau[a], tau[c]).map(*)), "gram[\(a), \(c)]")
            }
        }
        #expect(moments.zeros.allSatisfy { $0 > 4096 } && (tasks == 1 || conflicts > 0))
    }
}
