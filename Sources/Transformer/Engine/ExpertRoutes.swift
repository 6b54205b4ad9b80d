import Foundation

/// One point's routing of one layer: for each expert, the tokens sent to it (ascending) and their weights.
struct ExpertRoutes {
    var tokens: [[Int]]
    var weights: [[Float]]

    /// Routes the N tokens of `logits` (row-major [N × E] router logits, Float32) as transformers 5.23 does:
    /// p = softmax(logits) (max subtracted), the k largest p, each divided by the sum of the k when `normalized`.
    /// Probabilities tied exactly at the k-th place go to the lower expert index; torch's CPU `topk` breaks such ties
    /// by its selection algorithm (e.g. experts 2, 3 of four equal ones), so a router with exactly equal rows (an
    /// untrained, all-zero one) may pick other experts than transformers.
    init(logits: UnsafePointer<Float>, tokenCount N: Int, experts: MixtureOfExperts) {
        let E = experts.expertCount
        let k = experts.expertsPerToken
        tokens = Array(repeating: [], count: E)
        weights = Array(repeating: [], count: E)
        var probabilities = [Float](repeating: 0, count: E)
        var chosen = [Int](repeating: 0, count: k)
        var taken = [Bool](repeating: false, count: E)
        for t in 0..<N {
            let row = logits + t * E
            var largest = row[0]
            for e in 1..<max(E, 1) where row[e] > largest { largest = row[e] }
            var total: Float = 0
            for e in 0..<E {
                probabilities[e] = Foundation.exp(row[e] - largest)
                total += probabilities[e]
            }
            for e in 0..<E { probabilities[e] /= total }
            for e in 0..<E { taken[e] = false }
            var sum: Float = 0
            for j in 0..<k {
                // The first not-yet-taken expert, then any larger one (a NaN never wins, so an index is always set).
                var best = taken.firstIndex(of: false)!
                for e in (best + 1)..<E where !taken[e] && probabilities[e] > probabilities[best] { best = e }
                taken[best] = true
                chosen[j] = best
                sum += probabilities[best]
            }
            for j in 0..<k {
                let e = chosen[j]
                tokens[e].append(t)
                weights[e].append(experts.normalizesTopK ? probabilities[e] / sum : probabilities[e])
            }
        }
    }
}
