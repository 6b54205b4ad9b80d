/// The inner loop of the statistics pass: adds the coordinates of one chunk to a ``TaskVectorMoments``.
///
/// The chunk's values are Float32 as read from storage; task vectors τt = θt − θ0 are formed in Float64, so the
/// sums match a float64 reference up to summation order. Blocks of finite values take a SIMD path; a block
/// holding a NaN or infinity takes a checked scalar path that leaves those coordinates out.
struct MomentsKernel {
    static let blockSize = 16384

    let taskCount: Int

    init(taskCount: Int) {
        self.taskCount = taskCount
    }

    /// Adds `count` coordinates: `base[i]` and `tasks[t][i]` for i < count.
    mutating func accumulate(
        base: UnsafePointer<Float>, tasks: [UnsafePointer<Float>], count: Int, into moments: inout TaskVectorMoments
    ) {
        var start = 0
        while start < count {
            let n = min(Self.blockSize, count - start)
            let blockTasks = tasks.map { $0 + start }
            // The fast path assumes finite values; a NaN or infinity anywhere in the block makes one of its sums
            // non-finite (Σ θ0² for the base, Σ τt² for a task), and the block is then redone by the checked path.
            var block = TaskVectorMoments(taskCount: taskCount)
            accumulateFinite(base: base + start, tasks: blockTasks, count: n, into: &block)
            if block.baseSquaredNorm.isFinite && block.gram.squaredNorms.allSatisfy(\.isFinite) {
                moments.add(block)
            } else {
                accumulateChecked(base: base + start, tasks: blockTasks, count: n, into: &moments)
            }
            start += n
        }
    }

    typealias Lanes = SIMD8<Double>

    /// The fast path for a block of finite values: eight coordinates at a time in SIMD registers, each sum its
    /// own vector accumulator (so no floating-point reduction has to be reordered), reduced once per block.
    private mutating func accumulateFinite(
        base: UnsafePointer<Float>, tasks: [UnsafePointer<Float>], count n: Int, into moments: inout TaskVectorMoments
    ) {
        let T = taskCount
        let pairs = T * (T + 1) / 2
        let vectorCount = n / 8 * 8
        withUnsafeTemporaryAllocation(of: Lanes.self, capacity: T * 4 + pairs + 1) { scratch in
            let deltas = scratch.baseAddress!
            let sums = deltas + T, absoluteSums = sums + T, maxima = absoluteSums + T, products = maxima + T
            let baseSquares = products + pairs
            for k in 0..<(T * 4 + pairs + 1) { scratch[k] = Lanes() }
            var zeros = [SIMD8<Int64>](repeating: SIMD8<Int64>(), count: T)
            var conflicts = SIMD8<Int64>()
            let one = SIMD8<Int64>(repeating: 1)
            var i = 0
            while i < vectorCount {
                let b = Lanes(UnsafeRawPointer(base + i).loadUnaligned(as: SIMD8<Float>.self))
                baseSquares[0] += b * b
                var positive = SIMDMask<SIMD8<Int64>>(repeating: false)
                var negative = SIMDMask<SIMD8<Int64>>(repeating: false)
                for t in 0..<T {
                    let d = Lanes(UnsafeRawPointer(tasks[t] + i).loadUnaligned(as: SIMD8<Float>.self)) - b
                    deltas[t] = d
                    sums[t] += d
                    let magnitude = d.replacing(with: -d, where: d .< 0)
                    absoluteSums[t] += magnitude
                    maxima[t] = maxima[t].replacing(with: magnitude, where: magnitude .> maxima[t])
                    zeros[t] &+= SIMD8<Int64>().replacing(with: one, where: d .== 0)
                    positive .|= d .> 0
                    negative .|= d .< 0
                }
                var p = 0
                for a in 0..<T {
                    for c in a..<T {
                        products[p] += deltas[a] * deltas[c]
                        p += 1
                    }
                }
                conflicts &+= SIMD8<Int64>().replacing(with: one, where: positive .& negative)
                i += 8
            }
            moments.elements += vectorCount
            moments.baseSquaredNorm += baseSquares[0].sum()
            var p = 0
            for a in 0..<T {
                moments.sum[a] += sums[a].sum()
                moments.absoluteSum[a] += absoluteSums[a].sum()
                moments.maxAbsolute[a] = max(moments.maxAbsolute[a], maxima[a].max())
                moments.zeros[a] += Int(zeros[a].wrappedSum())
                for c in a..<T {
                    let value = products[p].sum()
                    moments.gram[a, c] += value
                    if a != c { moments.gram[c, a] += value }
                    p += 1
                }
            }
            if T > 1 { moments.signConflicts += Int(conflicts.wrappedSum()) }
        }
        if vectorCount < n {
            accumulateChecked(
                base: base + vectorCount, tasks: tasks.map { $0 + vectorCount }, count: n - vectorCount, into: &moments)
        }
    }

    /// The slow path for a block holding a non-finite value: such coordinates are counted and skipped.
    private mutating func accumulateChecked(
        base: UnsafePointer<Float>, tasks: [UnsafePointer<Float>], count n: Int, into moments: inout TaskVectorMoments
    ) {
        let T = taskCount
        var values = [Double](repeating: 0, count: T)
        for i in 0..<n {
            var finite = base[i].isFinite
            if !base[i].isFinite { moments.nonFinite[0] += 1 }
            for t in 0..<T where !tasks[t][i].isFinite {
                moments.nonFinite[t + 1] += 1
                finite = false
            }
            guard finite else { continue }
            let b = Double(base[i])
            moments.baseSquaredNorm += b * b
            moments.elements += 1
            var positive = false, negative = false
            for t in 0..<T {
                let value = Double(tasks[t][i]) - b
                values[t] = value
                moments.sum[t] += value
                moments.absoluteSum[t] += abs(value)
                moments.maxAbsolute[t] = max(moments.maxAbsolute[t], abs(value))
                moments.zeros[t] += value == 0 ? 1 : 0
                positive = positive || value > 0
                negative = negative || value < 0
            }
            if positive && negative && T > 1 { moments.signConflicts += 1 }
            for a in 0..<T {
                for c in a..<T {
                    let product = values[a] * values[c]
                    moments.gram[a, c] += product
                    if a != c { moments.gram[c, a] += product }
                }
            }
        }
    }
}
