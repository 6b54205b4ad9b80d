/// The inner loop of the statistics pass: adds the coordinates of one chunk to a ``TaskVectorMoments``.
///
/// Values are read straight from storage (F32 and BF16 mapped bytes, or Float32 buffers decoded from other
/// dtypes, see ``LaneSource``); task vectors τt = θt − θ0 are formed in Float64, so the sums match a float64
/// reference up to summation order. Blocks of finite values take a SIMD path; a block
/// holding a NaN or infinity takes a checked scalar path that leaves those coordinates out.
struct MomentsKernel {
    static let blockSize = 16384

    let taskCount: Int

    init(taskCount: Int) {
        self.taskCount = taskCount
    }

    /// Adds `count` coordinates: `sources[0]` is the base, `sources[1 + t]` task t.
    mutating func accumulate(_ sources: [LaneSource], count: Int, into moments: inout TaskVectorMoments) {
        var start = 0
        while start < count {
            let n = min(Self.blockSize, count - start)
            let block = sources.map { $0.advanced(by: start) }
            // The fast path assumes finite values; a NaN or infinity anywhere in the block makes one of its sums
            // non-finite (Σ θ0² for the base, Σ τt² for a task), and the block is then redone by the checked path.
            var sums = TaskVectorMoments(taskCount: taskCount)
            accumulateFinite(block, count: n, into: &sums)
            if sums.baseSquaredNorm.isFinite && sums.gram.squaredNorms.allSatisfy(\.isFinite) {
                moments.add(sums)
            } else {
                accumulateChecked(block, count: n, into: &moments)
            }
            start += n
        }
    }

    typealias Lanes = SIMD8<Double>

    /// The fast path for a block of finite values: eight coordinates at a time in SIMD registers, each sum its
    /// own vector accumulator (so no floating-point reduction has to be reordered), reduced once per block.
    private mutating func accumulateFinite(_ sources: [LaneSource], count n: Int, into moments: inout TaskVectorMoments) {
        let T = taskCount
        let pairs = T * (T + 1) / 2
        let vectorCount = n / 8 * 8
        // Every accumulator lives in one scratch allocation (no Swift array is touched in the loop: no
        // uniqueness or bounds checks); zero counts are kept as Float64 lanes, exact far beyond a block's size.
        let width = T * 5 + pairs + 1
        withUnsafeTemporaryAllocation(of: Lanes.self, capacity: width) { scratch in
        withUnsafeTemporaryAllocation(of: LaneSource.self, capacity: sources.count) { lanesFrom in
            let deltas = scratch.baseAddress!
            let sums = deltas + T, absoluteSums = sums + T, maxima = absoluteSums + T, zeros = maxima + T
            let products = zeros + T, baseSquares = products + pairs
            for k in 0..<width { scratch[k] = Lanes() }
            for (k, source) in sources.enumerated() { lanesFrom[k] = source }
            let input = lanesFrom.baseAddress!
            var conflicts = SIMD8<Int64>()
            let one = SIMD8<Int64>(repeating: 1)
            let oneLane = Lanes(repeating: 1)
            var i = 0
            while i < vectorCount {
                let b = input[0].lanes(at: i)
                baseSquares[0] += b * b
                var positive = SIMDMask<SIMD8<Int64>>(repeating: false)
                var negative = SIMDMask<SIMD8<Int64>>(repeating: false)
                for t in 0..<T {
                    let d = input[t + 1].lanes(at: i) - b
                    deltas[t] = d
                    sums[t] += d
                    let magnitude = d.replacing(with: -d, where: d .< 0)
                    absoluteSums[t] += magnitude
                    maxima[t] = maxima[t].replacing(with: magnitude, where: magnitude .> maxima[t])
                    zeros[t] += Lanes().replacing(with: oneLane, where: d .== 0)
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
                moments.zeros[a] += Int(zeros[a].sum())
                for c in a..<T {
                    let value = products[p].sum()
                    moments.gram[a, c] += value
                    if a != c { moments.gram[c, a] += value }
                    p += 1
                }
            }
            if T > 1 { moments.signConflicts += Int(conflicts.wrappedSum()) }
        }
        }
        if vectorCount < n {
            accumulateChecked(sources.map { $0.advanced(by: vectorCount) }, count: n - vectorCount, into: &moments)
        }
    }

    /// The slow path for a block holding a non-finite value: such coordinates are counted and skipped.
    private mutating func accumulateChecked(_ sources: [LaneSource], count n: Int, into moments: inout TaskVectorMoments) {
        let T = taskCount
        var values = [Double](repeating: 0, count: T)
        for i in 0..<n {
            let baseValue = sources[0].value(at: i)
            var finite = baseValue.isFinite
            if !finite { moments.nonFinite[0] += 1 }
            for t in 0..<T where !sources[t + 1].value(at: i).isFinite {
                moments.nonFinite[t + 1] += 1
                finite = false
            }
            guard finite else { continue }
            let b = Double(baseValue)
            moments.baseSquaredNorm += b * b
            moments.elements += 1
            var positive = false, negative = false
            for t in 0..<T {
                let value = Double(sources[t + 1].value(at: i)) - b
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

/// Where the kernel reads one model's values: Float32 (stored F32, or decoded into a buffer) or BF16 bits,
/// widened eight at a time — BF16 is the top half of a Float, so no decoding pass over memory is needed.
enum LaneSource {
    case float32(UnsafeRawPointer)
    case bfloat16(UnsafeRawPointer)

    func advanced(by count: Int) -> LaneSource {
        switch self {
        case .float32(let pointer): .float32(pointer + 4 * count)
        case .bfloat16(let pointer): .bfloat16(pointer + 2 * count)
        }
    }

    /// Elements i..<i+8 as Float64.
    @inline(__always)
    func lanes(at i: Int) -> SIMD8<Double> {
        switch self {
        case .float32(let pointer):
            return SIMD8<Double>(pointer.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self))
        case .bfloat16(let pointer):
            let bits = SIMD8<UInt32>(truncatingIfNeeded: pointer.loadUnaligned(fromByteOffset: 2 * i, as: SIMD8<UInt16>.self)) &<< 16
            return SIMD8<Double>(unsafeBitCast(bits, to: SIMD8<Float>.self))
        }
    }

    /// Element i as Float.
    @inline(__always)
    func value(at i: Int) -> Float {
        switch self {
        case .float32(let pointer): pointer.loadUnaligned(fromByteOffset: 4 * i, as: Float.self)
        case .bfloat16(let pointer):
            Float(bitPattern: UInt32(pointer.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16)
        }
    }
}
