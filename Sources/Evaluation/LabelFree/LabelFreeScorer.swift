import Foundation

/// Streaming label-free reductions of logit rows over vocabulary blocks, all in Float64, no candidate's logits kept.
///
/// Each row r has the teacher's logits y (a row of ``TeacherDecoding/Teachers/logits``, `teacherRow[r]`). Per
/// (point p, row r), with z the point's logits:
/// - the argmax (first maximum, `torch.argmax`'s tie rule: blocks arrive in increasing vocabulary order and only a
///   strictly larger value replaces the maximum);
/// - the online log-sum-exp L(z) = m + log S, S = Σ exp(z − m) rescaled when the running max m grows (the same
///   for the teacher's row: L(y) = m_y + log S_y);
/// - E = Σ exp(z − m)·z, so the entropy is H = L(z) − E/S (= −Σ softmax(z)·log softmax(z));
/// - A = Σ exp(y − m_y)·(y − z) against the teacher's running max, so
///   KL(teacher ‖ point) = Σ p_y (log p_y − log p_z) = A/S_y − L(y) + L(z).
///
/// The logits must be finite (``LockstepEngine/projectLogits`` refuses non-finite ones before handing a block on,
/// and the teachers' were checked the same way when they were decoded).
struct LabelFreeScorer {
    let points: Int
    let teacherRow: [Int]
    let vocabularySize: Int
    private var maxValue: [Float]
    private var maxIndex: [Int]
    private var runningMax: [Double]
    private var sumExp: [Double]
    private var weightedLogits: [Double]
    private var divergence: [Double]
    private var teacherMax: [Double]
    private var teacherSum: [Double]
    private var teacherExp: [Double] = []

    init(points: Int, teacherRow: [Int], vocabularySize: Int) {
        self.points = points
        self.teacherRow = teacherRow
        self.vocabularySize = vocabularySize
        let n = points * teacherRow.count
        maxValue = [Float](repeating: -.infinity, count: n)
        maxIndex = [Int](repeating: -1, count: n)
        runningMax = [Double](repeating: -.infinity, count: n)
        sumExp = [Double](repeating: 0, count: n)
        weightedLogits = [Double](repeating: 0, count: n)
        divergence = [Double](repeating: 0, count: n)
        teacherMax = [Double](repeating: -.infinity, count: teacherRow.count)
        teacherSum = [Double](repeating: 0, count: teacherRow.count)
    }

    /// Adds vocabulary entries `vocabulary`: `logits[p]` is [rows × vocabulary.count], row-major; `teachers` holds
    /// the teachers' rows, [· × vocabularySize].
    mutating func add(_ vocabulary: Range<Int>, _ logits: [UnsafePointer<Float>], teachers: UnsafePointer<Float>) {
        let W = vocabulary.count
        let R = teacherRow.count
        if teacherExp.count < W { teacherExp = [Double](repeating: 0, count: W) }
        for r in 0..<R {
            // The teacher's exp(y − m_y) with its new running max, shared by every point's A.
            let y = teachers + teacherRow[r] * vocabularySize + vocabulary.lowerBound
            var blockMax = -Float.infinity
            for j in 0..<W where y[j] > blockMax { blockMax = y[j] }
            let oldMax = teacherMax[r]
            let newMax = max(oldMax, Double(blockMax))
            let rescale = oldMax == -.infinity ? 0 : exp(oldMax - newMax)
            var sum = teacherSum[r] * rescale
            for j in 0..<W {
                let e = exp(Double(y[j]) - newMax)
                teacherExp[j] = e
                sum += e
            }
            teacherSum[r] = sum
            teacherMax[r] = newMax
            for p in 0..<points {
                let z = logits[p] + r * W
                let slot = p * R + r
                var a = divergence[slot] * rescale
                for j in 0..<W { a += teacherExp[j] * (Double(y[j]) - Double(z[j])) }
                divergence[slot] = a
                var zMax = -Float.infinity
                var zIndex = -1
                for j in 0..<W where z[j] > zMax {
                    zMax = z[j]
                    zIndex = j
                }
                if zIndex >= 0 && (maxIndex[slot] < 0 || zMax > maxValue[slot]) {
                    maxValue[slot] = zMax
                    maxIndex[slot] = vocabulary.lowerBound + zIndex
                }
                let m = max(runningMax[slot], Double(zMax))
                let shrink = runningMax[slot] == -.infinity ? 0 : exp(runningMax[slot] - m)
                var s = sumExp[slot] * shrink
                var e = weightedLogits[slot] * shrink
                for j in 0..<W {
                    let v = Double(z[j])
                    let w = exp(v - m)
                    s += w
                    e += w * v
                }
                sumExp[slot] = s
                weightedLogits[slot] = e
                runningMax[slot] = m
            }
        }
    }

    /// log Σ exp(z) of point p's row r.
    func logSumExp(point p: Int, row r: Int) -> Double {
        let slot = p * teacherRow.count + r
        return runningMax[slot] + log(sumExp[slot])
    }

    func argmax(point p: Int, row r: Int) -> Int { maxIndex[p * teacherRow.count + r] }

    /// −Σ softmax(z)·log softmax(z) of point p's row r.
    func entropy(point p: Int, row r: Int) -> Double {
        let slot = p * teacherRow.count + r
        return logSumExp(point: p, row: r) - weightedLogits[slot] / sumExp[slot]
    }

    /// KL(teacher ‖ point p) at row r, clamped at 0 (rounding can leave −1e-16 where the point is the teacher).
    func divergence(point p: Int, row r: Int) -> Double {
        let kl =
            divergence[p * teacherRow.count + r] / teacherSum[r] - (teacherMax[r] + log(teacherSum[r]))
            + logSumExp(point: p, row: r)
        return max(kl, 0)
    }
}
