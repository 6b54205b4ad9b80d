/// The probe's metrics, accumulated one block of vocabulary entries at a time as the logits of every point appear,
/// so no point's full logits are ever kept.
///
/// Every metric is a ratio of Euclidean norms over a prompt's flattened logits (all positions × vocabulary), and a
/// squared norm is a sum over coordinates: each block adds its coordinates' squares (in Float64, from the Float32
/// logits) to per-(metric, prompt) sums. R² is per coordinate of a prompt's last position, also summed per block.
/// Kept logits: the first prompt's last position along each task's grid (T · |grid| · V Float32), for the curves.
struct ProbeAccumulator {
    let points: ProbePoints
    let alphas: [Double]
    let taylorStep: Double
    let pairList: [(Int, Int)]
    let scales: [Double]
    let lambdas: [Double]
    /// Rows of each prompt in the batch.
    let rows: [Range<Int>]
    let vocabularySize: Int
    let T: Int, K: Int, Q: Int
    /// Index of α = 1 in the grid.
    let one: Int
    /// Σ Δ² per [task·Q + prompt], Δ = f(θ0 + τt) − f(θ0).
    var deltaSquares: [Double]
    /// Σ (f(α) − [(1−α) f(0) + α f(1)])² per [(task·K + k)·Q + prompt].
    var chordSquares: [Double]
    /// Σ (Δ − (f(h) − f(−h)) / 2h)² per [task·Q + prompt].
    var taylorSquares: [Double]
    /// Σ of per-coordinate R² and the number of coordinates that vary, per [task·Q + prompt].
    var rSquaredSum: [Double], rSquaredCount: [Int]
    /// Σ (f(θ0 + τi + τj) − f(θ0) − (Δi + Δj))² per [pair·Q + prompt].
    var additivitySquares: [Double]
    /// Σ (f(merged) − f(θ0) − s Σ λt Δt)² and Σ (s Σ λt Δt)² per [scale·Q + prompt].
    var mergedSquares: [Double], predictedSquares: [Double]
    /// [task][k]: the first prompt's last-position logits along the grid (V each).
    var firstPromptLast: [[[Float]]]

    init(
        points: ProbePoints, alphas: [Double], taylorStep: Double, pairs: [(Int, Int)], scales: [Double],
        lambdas: [Double], rows: [Range<Int>], vocabularySize V: Int
    ) {
        self.points = points
        self.alphas = alphas
        self.taylorStep = taylorStep
        pairList = pairs
        self.scales = scales
        self.lambdas = lambdas
        self.rows = rows
        vocabularySize = V
        T = points.grid.count
        K = alphas.count
        Q = rows.count
        one = alphas.firstIndex(of: 1)!
        deltaSquares = Array(repeating: 0, count: T * Q)
        chordSquares = Array(repeating: 0, count: T * K * Q)
        taylorSquares = Array(repeating: 0, count: T * Q)
        rSquaredSum = Array(repeating: 0, count: T * Q)
        rSquaredCount = Array(repeating: 0, count: T * Q)
        additivitySquares = Array(repeating: 0, count: pairs.count * Q)
        mergedSquares = Array(repeating: 0, count: scales.count * Q)
        predictedSquares = Array(repeating: 0, count: scales.count * Q)
        firstPromptLast = Array(repeating: Array(repeating: Array(repeating: 0, count: V), count: K), count: T)
    }

    /// Adds vocabulary entries `vocabulary` of every point: `logits[p]` is [N × vocabulary.count], row-major.
    mutating func add(_ vocabulary: Range<Int>, _ logits: [UnsafePointer<Float>]) {
        let W = vocabulary.count
        let half = 1 / (2 * taylorStep)
        let meanAlpha = alphas.reduce(0, +) / Double(K)
        let sxx = alphas.reduce(0) { $0 + ($1 - meanAlpha) * ($1 - meanAlpha) }
        var delta = [Double](repeating: 0, count: T)
        var ys = [Double](repeating: 0, count: K)
        for (q, promptRows) in rows.enumerated() {
            let lastRow = promptRows.upperBound - 1
            for r in promptRows {
                for j in 0..<W {
                    let e = r * W + j
                    let f0 = Double(logits[0][e])
                    for t in 0..<T {
                        let grid = points.grid[t]
                        let f1 = Double(logits[grid[one]][e])
                        let d = f1 - f0
                        delta[t] = d
                        deltaSquares[t * Q + q] += d * d
                        for k in 0..<K {
                            let alpha = alphas[k]
                            let fa = Double(logits[grid[k]][e])
                            let g = fa - ((1 - alpha) * f0 + alpha * f1)
                            chordSquares[(t * K + k) * Q + q] += g * g
                            ys[k] = fa
                        }
                        let derivative =
                            half * Double(logits[points.plus[t]][e]) + (-half) * Double(logits[points.minus[t]][e])
                        let g = d - derivative
                        taylorSquares[t * Q + q] += g * g
                        if r == lastRow {
                            if let r2 = Self.rSquared(alphas, meanAlpha: meanAlpha, sxx: sxx, ys) {
                                rSquaredSum[t * Q + q] += r2
                                rSquaredCount[t * Q + q] += 1
                            }
                            if q == 0 {
                                for k in 0..<K { firstPromptLast[t][k][vocabulary.lowerBound + j] = Float(ys[k]) }
                            }
                        }
                    }
                    for (index, (a, b)) in pairList.enumerated() {
                        let both = Double(logits[points.pairs[index]][e])
                        let g = (both - f0) - (1 * delta[a] + 1 * delta[b])
                        additivitySquares[index * Q + q] += g * g
                    }
                    for (index, s) in scales.enumerated() {
                        var predicted = 0.0
                        for t in 0..<T { predicted = 1 * predicted + (s * lambdas[t]) * delta[t] }
                        let g = (Double(logits[points.merged[index]][e]) - f0) - predicted
                        mergedSquares[index * Q + q] += g * g
                        predictedSquares[index * Q + q] += predicted * predicted
                    }
                }
            }
        }
    }

    /// The R² of the least-squares line y ≈ a + bα over the grid, or `nil` when y is constant along α (its R²
    /// is undefined: ss_tot ≤ 1e-30 · max(1, ȳ²)).
    static func rSquared(_ alphas: [Double], meanAlpha: Double, sxx: Double, _ ys: [Double]) -> Double? {
        let n = Double(alphas.count)
        let meanY = ys.reduce(0, +) / n
        let ssTot = ys.reduce(0) { $0 + ($1 - meanY) * ($1 - meanY) }
        guard ssTot > 1e-30 * max(1, meanY * meanY) else { return nil }
        var sxy = 0.0
        for (alpha, y) in zip(alphas, ys) { sxy += (alpha - meanAlpha) * (y - meanY) }
        return (sxy * sxy) / (sxx * ssTot)
    }

    // MARK: - The metrics, once every block is in

    func rows(_ n: Int, _ value: (Int, Int) -> Double) -> [[Double]] {
        (0..<n).map { i in (0..<Q).map { q in value(i, q) } }
    }

    var chordResidual: [[Double]] {
        rows(T) { t, q in
            let scale = deltaSquares[t * Q + q].squareRoot()
            let worst = (0..<K).map { chordSquares[(t * K + $0) * Q + q].squareRoot() }.reduce(0.0) { max($0, $1) }
            return worst / scale
        }
    }

    var taylorError: [[Double]] {
        rows(T) { t, q in taylorSquares[t * Q + q].squareRoot() / deltaSquares[t * Q + q].squareRoot() }
    }

    /// Mean R² over varying coordinates; 1 when every coordinate is constant along α.
    var rSquared: [[Double]] {
        rows(T) { t, q in
            let count = rSquaredCount[t * Q + q]
            return count == 0 ? 1 : rSquaredSum[t * Q + q] / Double(count)
        }
    }

    var additivityGap: [[Double]] {
        rows(pairList.count) { index, q in
            let (i, j) = pairList[index]
            return additivitySquares[index * Q + q].squareRoot()
                / (deltaSquares[i * Q + q].squareRoot() + deltaSquares[j * Q + q].squareRoot())
        }
    }

    var mergedGap: [[Double]] {
        rows(scales.count) { index, q in
            mergedSquares[index * Q + q].squareRoot() / predictedSquares[index * Q + q].squareRoot()
        }
    }
}
