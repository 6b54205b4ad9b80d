import CKernels
import Testing

@testable import Merging

/// The TIES / DARE / breadcrumbs loops in C (one clone per x86-64 level, chosen at load time) against their
/// definitions written element by element: the rank-selection passes, the prefix and outlier masks (against
/// `PrefixCursor.contains`, which decides one element at a time in index order), DARE's mask (against
/// `CounterRandom.keeps`) and the two combinations. Every result must have the definition's bits, over data with
/// many equal magnitudes (ties at the cut), both signs and ±0, at counts that are not multiples of the vector
/// width and with the work split between calls at odd places (the tie count carries over).
@Suite("TIES / DARE kernels equal their element-by-element definitions")
struct TiesKernelExactTests {
    /// A deterministic spread: a third from eight magnitudes (many ties), the rest Float32 of varied size, random
    /// signs, some ±0.
    static func values(_ count: Int, seed: UInt64, infinities: Bool = false) -> [Float] {
        var state = seed
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 33
        }
        return (0..<count).map { _ in
            let kind = next() % 12
            let sign: Float = next() % 2 == 0 ? 1 : -1
            switch kind {
            case 0: return sign * 0
            case 1 where infinities: return sign * .infinity
            case 1...4: return sign * Float(next() % 8) * 0.125
            default: return sign * Float(next() % 1_000_000) * 1e-7
            }
        }
    }

    static func bits(_ values: [Float]) -> [UInt32] { values.map(\.bitPattern) }

    /// x·mask as the masks define it: the value, or its sign alone.
    static func masked(_ value: Float, keep: Bool) -> UInt32 {
        keep ? value.bitPattern : value.bitPattern & 0x8000_0000
    }

    @Test(arguments: [false, true])
    func prefixMaskEqualsContains(descending: Bool) {
        for (round, count) in [0, 1, 15, 16, 17, 100, 1000, 4099].enumerated() {
            let deltas = Self.values(count, seed: UInt64(round) + 1, infinities: true)
            let keys = deltas.map(magnitudeKey)
            let cutKeys: [UInt32] = [0, 0x3E00_0000, 0x3F80_0000, 0x7F80_0000] + (keys.isEmpty ? [] : [keys[count / 2]])
            for key in cutKeys {
                for (quota, tiesBefore) in [(0, 0), (1, 0), (3, 2), (7, 0), (50, 10), (10_000, 0)] {
                    let cut = RankSelection.Cut.threshold(key: key, quota: quota, tiesBefore: [tiesBefore])
                    var reference = PrefixCursor(cut, descending: descending, chunk: 0)
                    let expected = deltas.map { Self.masked($0, keep: reference.contains(magnitudeKey($0))) }
                    // In two calls split at an odd place, as blocks of one chunk are.
                    var cursor = PrefixCursor(cut, descending: descending, chunk: 0)
                    var values = deltas
                    let split = count / 3 + 1
                    values.withUnsafeMutableBufferPointer { buffer in
                        let first = min(split, count)
                        cursor.mask(buffer.baseAddress!, count: first)
                        cursor.mask(buffer.baseAddress! + first, count: count - first)
                    }
                    #expect(Self.bits(values) == expected, "n \(count), key \(key), quota \(quota)")
                }
            }
        }
    }

    @Test func outlierMaskEqualsContains() {
        let deltas = Self.values(2053, seed: 7, infinities: true)
        let sorted = deltas.map(magnitudeKey).sorted()
        let cuts: [RankSelection.Cut] = [
            .none, .all,
            .threshold(key: sorted[100], quota: 2, tiesBefore: [0]),
            .threshold(key: sorted[1500], quota: 40, tiesBefore: [3]),
            .threshold(key: 0, quota: 5, tiesBefore: [0]),
        ]
        for low in cuts {
            for high in cuts {
                var referenceLow = PrefixCursor(low, descending: false, chunk: 0)
                var referenceHigh = PrefixCursor(high, descending: false, chunk: 0)
                let expected = deltas.map { value in
                    let key = magnitudeKey(value)
                    let dropped = referenceLow.contains(key)
                    let inHead = referenceHigh.contains(key)
                    return Self.masked(value, keep: !dropped && inHead)
                }
                var cursorLow = PrefixCursor(low, descending: false, chunk: 0)
                var cursorHigh = PrefixCursor(high, descending: false, chunk: 0)
                var values = deltas
                values.withUnsafeMutableBufferPointer { buffer in
                    PrefixCursor.maskOutliers(buffer.baseAddress!, count: 700, low: &cursorLow, high: &cursorHigh)
                    PrefixCursor.maskOutliers(
                        buffer.baseAddress! + 700, count: buffer.count - 700, low: &cursorLow, high: &cursorHigh)
                }
                #expect(Self.bits(values) == expected, "low \(low), high \(high)")
            }
        }
    }

    @Test func randomMaskEqualsCounterRandom() {
        let deltas = Self.values(1027, seed: 11)
        let random = CounterRandom(seed: 42, tensor: "model.layers.0.mlp.up_proj.weight", input: 2)
        for probability in [0.0, 0.1, 0.5, 0.9, 1.0] {
            let threshold = CounterRandom.threshold(probability: probability)
            for start in [0, 5, 8191, 1 << 33] {
                let expected = deltas.indices.map { i in
                    Self.masked(deltas[i], keep: random.keeps(start + i, threshold: threshold))
                }
                var values = deltas
                mm_random_mask(&values, values.count, random.key, start, threshold)
                #expect(Self.bits(values) == expected, "p \(probability), start \(start)")
            }
        }
    }

    @Test func selectionPassesEqualScalar() {
        let n = 4111
        let x = Self.values(n, seed: 3, infinities: true), base = Self.values(n, seed: 4)
        let deltaKeys = (0..<n).map { magnitudeKey(x[$0] - base[$0]) }
        var expectedHistogram = [UInt32](repeating: 5, count: 65536)
        var expectedSum = 0.0
        for i in 0..<n {
            expectedHistogram[Int(deltaKeys[i] >> 16)] += 1
            expectedSum += Double(abs(x[i] - base[i]))
        }
        var histogram = [UInt32](repeating: 5, count: 65536)
        mm_magnitude_histogram(x, base, n, &histogram)
        #expect(histogram == expectedHistogram)
        histogram = [UInt32](repeating: 5, count: 65536)
        let sum = mm_magnitude_histogram_l1(x, base, n, &histogram)
        #expect(histogram == expectedHistogram)
        #expect(sum.bitPattern == expectedSum.bitPattern)

        for (first, second) in [(deltaKeys[7] >> 16, deltaKeys[3000] >> 16), (deltaKeys[9] >> 16, deltaKeys[9] >> 16)] {
            let expected = deltaKeys.filter { $0 >> 16 == first || $0 >> 16 == second }
            var found = [UInt32](repeating: 0, count: n)
            let count = mm_collect_bin_keys(x, base, n, first, second, &found)
            #expect(Array(found[0..<count]) == expected)
        }
    }

    @Test(arguments: 1...4)
    func combinationsEqualScalar(tasks: Int) {
        let n = 1043, stride = 1100
        let base = Self.values(n, seed: 20)
        var weighted = [Float](repeating: 0, count: tasks * stride)
        for t in 0..<tasks {
            let row = Self.values(n, seed: 21 + UInt64(t))
            for i in 0..<n { weighted[t * stride + i] = row[i] }
        }
        let weights: [Float] = [0.7, 0, -0.4, 1.3].prefix(tasks).map { $0 }
        for normalize in [false, true] {
            for lambda: Float in [1, 0.6] {
                // Without consensus.
                let divisor: Float = 1.3
                let linear = (0..<n).map { i in
                    var sum = weighted[i]
                    for t in 1..<tasks { sum += weighted[t * stride + i] }
                    if normalize { sum /= divisor }
                    if lambda != 1 { sum *= lambda }
                    return (base[i] + sum).bitPattern
                }
                var out = [Float](repeating: .nan, count: n)
                mm_linear_combine(weighted, stride, tasks, normalize ? 1 : 0, divisor, lambda, base, n, &out)
                #expect(Self.bits(out) == linear, "linear, normalize \(normalize), λ \(lambda)")
                // TIES' election.
                let elected = (0..<n).map { i in
                    var sum = weighted[i]
                    for t in 1..<tasks { sum += weighted[t * stride + i] }
                    let positive = sum >= 0
                    var mixed: Float = 0, total: Float = 0
                    for t in 0..<tasks {
                        let value = weighted[t * stride + i]
                        let keep = (positive && value > 0) || (!positive && value < 0)
                        mixed += keep ? value : 0
                        total += keep ? weights[t] : 0
                    }
                    if normalize { mixed /= total == 0 ? 1 : total }
                    if lambda != 1 { mixed *= lambda }
                    return (base[i] + mixed).bitPattern
                }
                mm_consensus_combine(weighted, stride, weights, tasks, normalize ? 1 : 0, lambda, base, n, &out)
                #expect(Self.bits(out) == elected, "consensus, normalize \(normalize), λ \(lambda)")
            }
        }
    }
}
