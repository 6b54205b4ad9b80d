/// The inner loop of the statistics pass: adds the coordinates of one chunk to a ``TaskVectorMoments``.
///
/// The chunk's values are Float32 as read from storage; task vectors τt = θt − θ0 are formed in Float64, so the
/// sums match a float64 reference up to summation order. Work is done in blocks small enough to stay in cache,
/// with one plain loop per sum so the optimiser vectorises each.
struct MomentsKernel {
    static let blockSize = 2048

    let taskCount: Int
    /// τ for one block, task-major: deltas[t * blockSize + i].
    private var deltas: [Double]

    init(taskCount: Int) {
        self.taskCount = taskCount
        deltas = [Double](repeating: 0, count: taskCount * Self.blockSize)
    }

    /// Adds `count` coordinates: `base[i]` and `tasks[t][i]` for i < count.
    mutating func accumulate(
        base: UnsafePointer<Float>, tasks: [UnsafePointer<Float>], count: Int, into moments: inout TaskVectorMoments
    ) {
        var start = 0
        while start < count {
            let n = min(Self.blockSize, count - start)
            if Self.allFinite(base + start, n) && tasks.allSatisfy({ Self.allFinite($0 + start, n) }) {
                accumulateFinite(base: base + start, tasks: tasks.map { $0 + start }, count: n, into: &moments)
            } else {
                accumulateChecked(base: base + start, tasks: tasks.map { $0 + start }, count: n, into: &moments)
            }
            start += n
        }
    }

    /// Whether all `count` values are finite: x − x is 0 for finite x and NaN otherwise.
    private static func allFinite(_ values: UnsafePointer<Float>, _ count: Int) -> Bool {
        var probe: Float = 0
        for i in 0..<count { probe += values[i] - values[i] }
        return probe == 0
    }

    private mutating func accumulateFinite(
        base: UnsafePointer<Float>, tasks: [UnsafePointer<Float>], count n: Int, into moments: inout TaskVectorMoments
    ) {
        let T = taskCount
        var baseSquares = 0.0
        for i in 0..<n {
            let b = Double(base[i])
            baseSquares += b * b
        }
        moments.baseSquaredNorm += baseSquares
        moments.elements += n
        deltas.withUnsafeMutableBufferPointer { buffer in
            let d = buffer.baseAddress!
            for t in 0..<T {
                let row = d + t * Self.blockSize
                let x = tasks[t]
                var sum = 0.0, absoluteSum = 0.0, maxAbsolute = 0.0
                var zeros = 0
                for i in 0..<n {
                    let value = Double(x[i]) - Double(base[i])
                    row[i] = value
                    sum += value
                    absoluteSum += abs(value)
                    maxAbsolute = max(maxAbsolute, abs(value))
                    zeros += value == 0 ? 1 : 0
                }
                moments.sum[t] += sum
                moments.absoluteSum[t] += absoluteSum
                moments.maxAbsolute[t] = max(moments.maxAbsolute[t], maxAbsolute)
                moments.zeros[t] += zeros
            }
            for i in 0..<T {
                for j in i..<T {
                    let a = d + i * Self.blockSize
                    let b = d + j * Self.blockSize
                    var dot = 0.0
                    for k in 0..<n { dot += a[k] * b[k] }
                    moments.gram[i, j] += dot
                    if i != j { moments.gram[j, i] += dot }
                }
            }
            moments.signConflicts += Self.signConflicts(d, taskCount: T, count: n)
        }
    }

    /// Coordinates where some τ is > 0 and another < 0.
    private static func signConflicts(_ d: UnsafeMutablePointer<Double>, taskCount: Int, count n: Int) -> Int {
        if taskCount < 2 { return 0 }
        var conflicts = 0
        for i in 0..<n {
            var positive = false, negative = false
            for t in 0..<taskCount {
                let value = d[t * blockSize + i]
                positive = positive || value > 0
                negative = negative || value < 0
            }
            conflicts += positive && negative ? 1 : 0
        }
        return conflicts
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
