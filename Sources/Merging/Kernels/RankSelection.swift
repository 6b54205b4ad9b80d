import CKernels

/// Exact top-k / bottom-k selection over a tensor streamed in chunks, by two radix passes over 32-bit keys.
///
/// Keys are the bit patterns of non-negative Floats (|δ|, a variance), whose integer order is their numeric
/// order (NaN above +∞). A *prefix* of m elements is the first m in the **stable** order: by key (descending or
/// ascending), then by flat index ascending. So among equal keys at the cut, the elements with the lower indices
/// are the ones selected — this project's documented tie-break (PyTorch's `argsort`/`sort`, which MergeKit uses,
/// does not promise one).
///
/// - Pass 1 counts the high 16 bits of every key (per worker, summed after); the bin holding the m-th key follows.
/// - Pass 2 keeps, per chunk, the keys that fall in that bin (few, except for degenerate data); their counts give
///   the exact key v at the cut, the number `quota` of elements equal to v that are selected, and how many keys
///   equal to v each earlier chunk holds — so a chunk alone can decide, in index order, which ties it selects.
final class RankSelection: @unchecked Sendable {
    /// One cut: the first `rank` elements in the stable order.
    struct Target: Sendable, Hashable {
        let model: Int
        let rank: Int
        let descending: Bool
    }

    /// The outcome for one target.
    enum Cut: Sendable {
        case none
        case all
        /// Selected: keys beyond `key` (above for descending, below for ascending), plus the first `quota`
        /// elements equal to `key` in index order. `tiesBefore[c]` counts keys equal to `key` in chunks before c.
        case threshold(key: UInt32, quota: Int, tiesBefore: [Int])
    }

    let models: Int
    let elementCount: Int
    private(set) var targets: [Target]
    private(set) var cuts: [Cut] = []

    private var histograms: SlotTable<UInt32>?  // workers × models × 65536
    private var workers = 0
    /// Per target: (bin, count of keys in strictly-better bins), after pass 1.
    private var bins: [(bin: UInt32, before: Int)?] = []
    /// Per chunk × model: the keys of that chunk lying in one of the model's target bins.
    private var binKeys: SlotTable<[UInt32]>?
    private var chunkCount = 0

    init(models: Int, elementCount: Int, targets: [Target]) {
        self.models = models
        self.elementCount = elementCount
        self.targets = targets
    }

    /// Replaces a target before ``endPass1()`` (for a rank known only from pass-1 counts).
    func replaceTarget(_ index: Int, with target: Target) {
        targets[index] = target
    }

    // MARK: Pass 1

    func beginPass1(workers: Int) {
        self.workers = workers
        histograms = SlotTable(count: workers * models * 65536, initial: 0)
    }

    /// The high-16-bit histogram that `worker` adds model `model`'s keys to.
    func histogram(model: Int, worker: Int) -> UnsafeMutablePointer<UInt32> {
        histograms!.storage.baseAddress! + (worker * models + model) * 65536
    }

    func endPass1() {
        let storage = histograms!.storage.baseAddress!
        var totals = [[Int]](repeating: [], count: models)
        for model in 0..<models {
            totals[model] = [Int](unsafeUninitializedCapacity: 65536) { buffer, initialized in
                let total = buffer.baseAddress!
                for bin in 0..<65536 { total[bin] = 0 }
                for worker in 0..<workers {
                    let histogram = storage + (worker * models + model) * 65536
                    for bin in 0..<65536 { total[bin] += Int(histogram[bin]) }
                }
                initialized = 65536
            }
        }
        histograms = nil
        bins = targets.map { target in
            guard target.rank > 0, target.rank < elementCount else { return nil }
            return Self.locate(target.rank, in: totals[target.model], descending: target.descending)
        }
    }

    /// The bin holding the m-th key in the given order, and how many keys lie in strictly-better bins.
    static func locate(_ m: Int, in histogram: [Int], descending: Bool) -> (bin: UInt32, before: Int) {
        var cumulative = 0
        let order: StrideThrough<Int> =
            descending ? stride(from: 65535, through: 0, by: -1) : stride(from: 0, through: 65535, by: 1)
        for bin in order {
            if cumulative + histogram[bin] >= m { return (UInt32(bin), cumulative) }
            cumulative += histogram[bin]
        }
        return (descending ? 0 : 65535, cumulative)
    }

    // MARK: Pass 2

    /// Whether pass 2 is needed at all (some target is a proper cut).
    var needsPass2: Bool { bins.contains { $0 != nil } }

    func beginPass2(chunkCount: Int) {
        self.chunkCount = chunkCount
        binKeys = SlotTable(count: chunkCount * models, initial: [])
    }

    /// The target bins of model `model` (pass-2 keys are those whose high 16 bits are one of these).
    func bins(of model: Int) -> [UInt32] {
        var result: [UInt32] = []
        for (index, target) in targets.enumerated() where target.model == model {
            if let bin = bins[index]?.bin, !result.contains(bin) { result.append(bin) }
        }
        return result
    }

    /// Stores chunk `chunk`'s keys of model `model` that fall in its target bins.
    func store(_ keys: [UInt32], chunk: Int, model: Int) {
        binKeys![chunk * models + model] = keys
    }

    func endPass2() {
        cuts = targets.enumerated().map { index, target in
            if target.rank <= 0 { return .none }
            if target.rank >= elementCount { return .all }
            let (bin, before) = bins[index]!
            var low = [Int](repeating: 0, count: 65536)
            for chunk in 0..<chunkCount {
                for key in binKeys![chunk * models + target.model] where key >> 16 == bin {
                    low[Int(key & 0xFFFF)] += 1
                }
            }
            let (lowBin, better) = Self.locate(target.rank - before, in: low, descending: target.descending)
            let key = bin << 16 | lowBin
            let quota = target.rank - before - better
            var tiesBefore = [Int](repeating: 0, count: chunkCount)
            var running = 0
            for chunk in 0..<chunkCount {
                tiesBefore[chunk] = running
                running += binKeys![chunk * models + target.model].reduce(0) { $0 + ($1 == key ? 1 : 0) }
            }
            return .threshold(key: key, quota: quota, tiesBefore: tiesBefore)
        }
        binKeys = nil
    }
}

/// Decides membership of a chunk's elements in a prefix, in index order (ties counted as they are met).
struct PrefixCursor {
    private let key: UInt32
    private let quota: Int
    private let descending: Bool
    private var ties: Int
    /// For `.none` / `.all`: a key no value reaches / every value passes.
    private let everything: Bool?

    init(_ cut: RankSelection.Cut, descending: Bool, chunk: Int) {
        self.descending = descending
        switch cut {
        case .none:
            everything = false; key = 0; quota = 0; ties = 0
        case .all:
            everything = true; key = 0; quota = 0; ties = 0
        case .threshold(let key, let quota, let tiesBefore):
            everything = nil; self.key = key; self.quota = quota; ties = tiesBefore[chunk]
        }
    }

    /// Whether the next element (in index order), with key `value`, is in the prefix.
    @inline(__always)
    mutating func contains(_ value: UInt32) -> Bool {
        if let everything { return everything }
        if value == key {
            ties += 1
            return ties <= quota
        }
        return descending ? value > key : value < key
    }

    /// Zeroes (keeping the sign, as x·0 does) the values of `values[0..<n]` outside the prefix, in index order
    /// (`mm_prefix_mask`, at the machine's vector width: sixteen at a time, one by one only in a group where the
    /// quota of ties runs out part-way).
    mutating func mask(_ values: UnsafeMutablePointer<Float>, count n: Int) {
        if let everything {
            if !everything { mm_scale(values, n, 0) }
            return
        }
        mm_prefix_mask(values, n, key, quota, &ties, descending ? 1 : 0)
    }

    /// Keeps the values in `high`'s prefix that are not in `low`'s (both ascending), each decided as
    /// ``contains(_:)`` would in index order (`mm_outlier_mask`); `.none` acts as the cut at key 0 with no ties
    /// taken, `.all` as a key above every magnitude.
    static func maskOutliers(
        _ values: UnsafeMutablePointer<Float>, count n: Int, low: inout PrefixCursor, high: inout PrefixCursor
    ) {
        let (lowKey, lowQuota) = low.ascendingCut, (highKey, highQuota) = high.ascendingCut
        mm_outlier_mask(values, n, lowKey, lowQuota, &low.ties, highKey, highQuota, &high.ties)
    }

    /// The cut of an ascending prefix as (key, quota), `.none` and `.all` included.
    private var ascendingCut: (UInt32, Int) {
        switch everything {
        case nil: (key, quota)
        case false?: (0, 0)
        case true?: (UInt32.max, 0)
        }
    }
}

/// All ones when `keep`, else zero: a branch-free select.
@inline(__always)
func keepMask(_ keep: Bool) -> UInt32 {
    0 &- UInt32(truncatingIfNeeded: unsafeBitCast(keep, to: UInt8.self))
}

/// The key of a Float's magnitude: its bit pattern without the sign (monotonic in |x|; NaN above +∞).
@inline(__always)
func magnitudeKey(_ value: Float) -> UInt32 {
    value.bitPattern & 0x7FFF_FFFF
}
