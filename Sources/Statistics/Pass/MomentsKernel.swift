import CKernels

/// The inner loop of the statistics pass: adds the coordinates of one chunk to a ``TaskVectorMoments``.
///
/// Values are read as Float32 (stored F32, or other dtypes decoded into a buffer; see ``LaneLoader``), widened
/// once each to Float64 and shared by every sum; task vectors τt = θt − θ0 are formed in Float64, so the sums match a
/// float64 reference up to
/// summation order. Blocks of ``blockSize`` finite values take a SIMD path; a block holding a NaN or infinity
/// takes a checked scalar path that leaves those coordinates out.
///
/// The SIMD path has a loop of its own for one, two and three tasks whose accumulators are local variables
/// (kept in registers, not reloaded and stored on every step as accumulators in memory are), and a general loop for
/// more tasks. The one-to-three-task loops are C (`mm_moments_finite1` … `3` in `CKernels`), compiled for each
/// x86-64 level and picked at load time, so a build without CPU flags runs them at the machine's vector width.
/// Each sum has its own four-lane accumulator, reduced once per block, so the result depends on the block boundaries
/// (multiples of ``blockSize`` from the chunk's start) and not on how the chunk was read.
///
/// Formulations on the fast path, each equal to the plain one for finite values:
/// - |τ| clears the sign bit; max |τ| is a compare-and-select;
/// - zero counts add the comparison mask as an integer;
/// - for T ≤ 3 a sign conflict (non-zero entries of both signs) is "some pairwise product τa τc < 0", reading the
///   products the Gram matrix needs anyway: |τ| ≥ 2⁻¹⁴⁹ for a non-zero difference of Floats, so a product of two
///   non-zero τ never underflows to 0 in Float64, and it never overflows (|τ| < 2¹²⁹).
struct MomentsKernel {
    /// Coordinates per SIMD block; the statistics pass reads in multiples of it so that blocks do not depend on
    /// how a chunk is read.
    static let blockSize = 16384

    let taskCount: Int

    init(taskCount: Int) {
        self.taskCount = taskCount
    }

    typealias Lanes = SIMD4<Double>
    typealias Counts = SIMD4<Int64>

    /// Adds `count` coordinates read with `L`: `sources[0]` is the base, `sources[1 + t]` task t.
    func accumulate<L: LaneLoader>(
        _ sources: UnsafeBufferPointer<UnsafeRawPointer>, _ loader: L.Type, count: Int,
        into moments: inout TaskVectorMoments
    ) {
        withUnsafeTemporaryAllocation(of: UnsafeRawPointer.self, capacity: sources.count) { block in
            var start = 0
            while start < count {
                let n = min(Self.blockSize, count - start)
                for m in 0..<sources.count { block[m] = sources[m] + start * L.byteWidth }
                let input = UnsafeBufferPointer(block)
                let vectorCount = n / 4 * 4
                // The fast path assumes finite values; a NaN or infinity anywhere in the block makes one of its
                // sums non-finite (Σ θ0² for the base, Σ τt² for a task), and the block is then redone by the
                // checked path.
                var sums = TaskVectorMoments(taskCount: taskCount)
                if (1...3).contains(taskCount) && L.self == Float32Lanes.self {
                    Self.finiteFloat32(input, vectorCount, into: &sums)
                } else {
                    Self.finiteGeneral(input, L.self, vectorCount, into: &sums)
                }
                if sums.baseSquaredNorm.isFinite && sums.gram.squaredNorms.allSatisfy(\.isFinite) {
                    moments.add(sums)
                } else {
                    Self.accumulateChecked(input, L.self, 0..<vectorCount, into: &moments)
                }
                if vectorCount < n {
                    Self.accumulateChecked(input, L.self, vectorCount..<n, into: &moments)
                }
                start += n
            }
        }
    }

    // MARK: Lane operations

    @inline(__always)
    static func magnitude(_ d: Lanes) -> Lanes {
        unsafeBitCast(
            unsafeBitCast(d, to: SIMD4<UInt64>.self) & SIMD4(repeating: 0x7FFF_FFFF_FFFF_FFFF), to: Lanes.self)
    }

    @inline(__always)
    static func maximum(_ a: Lanes, _ b: Lanes) -> Lanes {
        a.replacing(with: b, where: b .> a)
    }

    @inline(__always)
    static func ones(_ mask: SIMDMask<Counts>) -> Counts {
        Counts().replacing(with: 1, where: mask)
    }

    /// Adds one task's per-block lane sums to `moments`.
    @inline(__always)
    static func addTask(
        _ t: Int, sum: Lanes, absolute: Lanes, maximum: Lanes, zeros: Counts, into moments: inout TaskVectorMoments
    ) {
        moments.sum[t] += sum.sum()
        moments.absoluteSum[t] += absolute.sum()
        moments.maxAbsolute[t] = max(moments.maxAbsolute[t], maximum.max())
        moments.zeros[t] += Int(zeros.wrappedSum())
    }

    @inline(__always)
    private static func addGram(_ a: Int, _ c: Int, _ lanes: Lanes, into moments: inout TaskVectorMoments) {
        let value = lanes.sum()
        moments.gram[a, c] += value
        if a != c { moments.gram[c, a] += value }
    }

    // MARK: Fast paths (finite blocks, n a multiple of 4)
    //
    // One, two and three tasks: `mm_moments_finite1` … `3` (Sources/CKernels), one four-lane step per iteration with
    // every accumulator a local variable, each block passed over twice for two and three tasks (first-order sums,
    // then products and counts) so that each loop's accumulators fit the registers of AVX2. The Swift loops they
    // replace (the same operations in the same order) compiled to SSE2 without `-target-cpu`.

    /// Adds the sums of `n` coordinates of Float32 models (1 ≤ T ≤ 3 tasks) from the C loops' four-lane accumulators,
    /// each reduced with `sum()` / `max()` / `wrappedSum()` as ``addTask(_:sum:absolute:maximum:zeros:into:)`` does.
    private static func finiteFloat32(
        _ s: UnsafeBufferPointer<UnsafeRawPointer>, _ n: Int, into m: inout TaskVectorMoments
    ) {
        let T = s.count - 1
        let groups = 1 + 3 * T + T * (T + 1) / 2
        withUnsafeTemporaryAllocation(of: Double.self, capacity: 4 * groups) { lanes in
            withUnsafeTemporaryAllocation(of: Int64.self, capacity: 4 * (T + 1)) { counts in
                let models = UnsafeRawPointer(s.baseAddress!).assumingMemoryBound(to: UnsafePointer<Float>?.self)
                let l = lanes.baseAddress!, c = counts.baseAddress!
                switch T {
                case 1: mm_moments_finite1(models, n, l, c)
                case 2: mm_moments_finite2(models, n, l, c)
                default: mm_moments_finite3(models, n, l, c)
                }
                let raw = UnsafeRawPointer(l), rawCounts = UnsafeRawPointer(c)
                func group(_ k: Int) -> Lanes { raw.loadUnaligned(fromByteOffset: 32 * k, as: Lanes.self) }
                func count(_ k: Int) -> Counts { rawCounts.loadUnaligned(fromByteOffset: 32 * k, as: Counts.self) }
                m.elements += n
                m.baseSquaredNorm += group(0).sum()
                for t in 0..<T {
                    addTask(
                        t, sum: group(1 + t), absolute: group(1 + T + t), maximum: group(1 + 2 * T + t),
                        zeros: count(t), into: &m)
                }
                var p = 1 + 3 * T
                for a in 0..<T {
                    for c in a..<T {
                        addGram(a, c, group(p), into: &m)
                        p += 1
                    }
                }
                if T > 1 { m.signConflicts += Int(count(T).wrappedSum()) }
            }
        }
    }

    /// Any task count: accumulators in one scratch allocation (no Swift array is touched in the loop: no
    /// uniqueness or bounds checks); sign conflicts from per-coordinate "any τ > 0" and "any τ < 0" masks.
    private static func finiteGeneral<L: LaneLoader>(
        _ sources: UnsafeBufferPointer<UnsafeRawPointer>, _: L.Type, _ n: Int, into moments: inout TaskVectorMoments
    ) {
        let T = sources.count - 1
        let pairs = T * (T + 1) / 2
        let width = T * 4 + pairs + 1
        withUnsafeTemporaryAllocation(of: Lanes.self, capacity: width) { scratch in
            withUnsafeTemporaryAllocation(of: Counts.self, capacity: T + 1) { counters in
                let deltas = scratch.baseAddress!
                let sums = deltas + T, absoluteSums = sums + T, maxima = absoluteSums + T
                let products = maxima + T, baseSquares = products + pairs
                let zeros = counters.baseAddress!, conflicts = zeros + T
                for k in 0..<width { scratch[k] = Lanes() }
                for k in 0...T { counters[k] = Counts() }
                let input = sources.baseAddress!
                var i = 0
                while i < n {
                    let b = L.lanes(input[0], at: i)
                    baseSquares[0] += b * b
                    var positive = SIMDMask<Counts>(repeating: false)
                    var negative = SIMDMask<Counts>(repeating: false)
                    for t in 0..<T {
                        let d = L.lanes(input[t + 1], at: i) - b
                        deltas[t] = d
                        sums[t] += d
                        let magnitude = magnitude(d)
                        absoluteSums[t] += magnitude
                        maxima[t] = maximum(maxima[t], magnitude)
                        zeros[t] &+= ones(d .== 0)
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
                    conflicts[0] &+= ones(positive .& negative)
                    i &+= 4
                }
                moments.elements += n
                moments.baseSquaredNorm += baseSquares[0].sum()
                var p = 0
                for a in 0..<T {
                    addTask(
                        a, sum: sums[a], absolute: absoluteSums[a], maximum: maxima[a], zeros: zeros[a], into: &moments)
                    for c in a..<T {
                        addGram(a, c, products[p], into: &moments)
                        p += 1
                    }
                }
                if T > 1 { moments.signConflicts += Int(conflicts[0].wrappedSum()) }
            }
        }
    }

    // MARK: Checked path

    /// The slow path for a block holding a non-finite value (and for a block's last n mod 4 coordinates): such
    /// coordinates are counted in `nonFinite` and left out of every sum.
    private static func accumulateChecked<L: LaneLoader>(
        _ sources: UnsafeBufferPointer<UnsafeRawPointer>, _: L.Type, _ range: Range<Int>,
        into moments: inout TaskVectorMoments
    ) {
        let T = sources.count - 1
        var values = [Double](repeating: 0, count: T)
        for i in range {
            let baseValue = L.value(sources[0], at: i)
            var finite = baseValue.isFinite
            if !finite { moments.nonFinite[0] += 1 }
            for t in 0..<T where !L.value(sources[t + 1], at: i).isFinite {
                moments.nonFinite[t + 1] += 1
                finite = false
            }
            guard finite else { continue }
            let b = Double(baseValue)
            moments.baseSquaredNorm += b * b
            moments.elements += 1
            for t in 0..<T { values[t] = Double(L.value(sources[t + 1], at: i)) - b }
            moments.addEntries(values)
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
