import Foundation

/// Streaming reductions of logit rows over vocabulary blocks: per (point, row) the running maximum and its
/// first index (the argmax with `torch.argmax`'s tie rule: blocks arrive in increasing vocabulary order and only a
/// strictly larger value replaces the maximum), the online log-sum-exp in Float64 (m = running max, s = Σ exp(z −
/// m), rescaled when m grows), and the gold token's logit.
///
/// −log softmax(z)[gold] = m + log s − z[gold], equal to Float64 `log_softmax` of the Float32 logits up to
/// Float64 rounding. A NaN logit makes the row's NLL NaN and its argmax −1 (never correct).
struct CompletionScorer {
    let points: Int
    let gold: [Int]
    private var maxValue: [Float]
    private var maxIndex: [Int]
    private var runningMax: [Double]
    private var sumExp: [Double]
    private var goldLogit: [Double]
    private var sawNaN: [Bool]

    init(points: Int, gold: [Int]) {
        self.points = points
        self.gold = gold
        let n = points * gold.count
        maxValue = [Float](repeating: -.infinity, count: n)
        maxIndex = [Int](repeating: -1, count: n)
        runningMax = [Double](repeating: -.infinity, count: n)
        sumExp = [Double](repeating: 0, count: n)
        goldLogit = [Double](repeating: .nan, count: n)
        sawNaN = [Bool](repeating: false, count: n)
    }

    /// Adds vocabulary entries `vocabulary`: `logits[p]` is [rows × vocabulary.count], row-major.
    mutating func add(_ vocabulary: Range<Int>, _ logits: [UnsafePointer<Float>]) {
        let W = vocabulary.count
        let R = gold.count
        for p in 0..<points {
            for r in 0..<R {
                let row = logits[p] + r * W
                let slot = p * R + r
                var blockMax = -Float.infinity
                var blockIndex = -1
                var nan = false
                for j in 0..<W {
                    let z = row[j]
                    if z.isNaN { nan = true } else if z > blockMax { blockMax = z; blockIndex = j }
                }
                if nan { sawNaN[slot] = true }
                if blockIndex >= 0 && (maxIndex[slot] < 0 || blockMax > maxValue[slot]) {
                    maxValue[slot] = blockMax
                    maxIndex[slot] = vocabulary.lowerBound + blockIndex
                }
                if blockIndex >= 0 {
                    let m = max(runningMax[slot], Double(blockMax))
                    if m.isFinite {
                        var s = runningMax[slot] == -.infinity ? 0 : sumExp[slot] * exp(runningMax[slot] - m)
                        for j in 0..<W where !row[j].isNaN { s += exp(Double(row[j]) - m) }
                        sumExp[slot] = s
                        runningMax[slot] = m
                    } else {
                        runningMax[slot] = m
                    }
                }
                if vocabulary.contains(gold[r]) { goldLogit[slot] = Double(row[gold[r] - vocabulary.lowerBound]) }
            }
        }
    }

    func negativeLogLikelihood(point p: Int, row r: Int) -> Double {
        let slot = p * gold.count + r
        if sawNaN[slot] || !runningMax[slot].isFinite { return .nan }
        return runningMax[slot] + log(sumExp[slot]) - goldLogit[slot]
    }

    func argmax(point p: Int, row r: Int) -> Int {
        let slot = p * gold.count + r
        return sawNaN[slot] ? -1 : maxIndex[slot]
    }
}
