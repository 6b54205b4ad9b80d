import CKernels
import Foundation

/// Masks: which elements of each task's delta survive sparsification, per chunk.
extension TaskArithmeticKernel {
    struct Cursors {
        var first: PrefixCursor?
        var second: PrefixCursor?
    }

    func makeCursors(chunk: Int) -> [Cursors] {
        plans.map { plan in
            switch plan {
            case .magnitude(let target):
                return Cursors(first: PrefixCursor(selection!.cuts[target], descending: true, chunk: chunk))
            case .outliers(let low, let high):
                return Cursors(
                    first: PrefixCursor(selection!.cuts[low], descending: false, chunk: chunk),
                    second: PrefixCursor(selection!.cuts[high], descending: false, chunk: chunk))
            default:
                return Cursors()
            }
        }
    }

    /// Multiplies model t's deltas (elements start..<start+n of the tensor) by its mask.
    func mask(_ t: Int, _ deltas: UnsafeMutablePointer<Float>, count n: Int, start: Int, cursors: inout Cursors) {
        switch plans[t] {
        case .keepAll:
            return
        case .dropAll:
            mm_scale(deltas, n, 0)
        case .magnitude:
            cursors.first!.mask(deltas, count: n)
        case .outliers:
            var low = cursors.first!, high = cursors.second!
            PrefixCursor.maskOutliers(deltas, count: n, low: &low, high: &high)
            cursors.first = low
            cursors.second = high
        case .random(let threshold):
            // `CounterRandom.keeps` for elements start..<start+n, eight draws at a time.
            mm_random_mask(deltas, n, randoms[t].key, start, threshold)
        case .della:
            let words = dellaMasks!.storage.baseAddress! + t * maskWords
            for i in 0..<n {
                let index = start + i
                let bits = deltas[i].bitPattern
                let keep = words[index >> 6] & (1 << UInt64(index & 63)) != 0
                deltas[i] = Float(bitPattern: bits & (keepMask(keep) | 0x8000_0000))
            }
        }
    }
}
