/// Sums over the coordinates of one part of the parameter vector (a chunk, a tensor, a layer, the model) from
/// which the task-vector statistics follow; sums of disjoint parts add.
///
/// All sums are Float64. Coordinates where the base or any task model holds a non-finite value (NaN, ±inf) are
/// left out of every sum and counted in ``nonFinite`` for each model that holds one, so one bad weight cannot
/// turn a whole report into NaN unnoticed.
public struct TaskVectorMoments: Sendable, Hashable {
    /// Number of tasks T.
    public let taskCount: Int
    /// Coordinates summed over (non-finite ones excluded).
    public var elements: Int = 0
    /// G[i][j] = Σ τi τj.
    public var gram: GramMatrix
    /// ‖θ0‖² = Σ θ0².
    public var baseSquaredNorm: Double = 0
    /// Σ τt per task.
    public var sum: [Double]
    /// Σ |τt| per task.
    public var absoluteSum: [Double]
    /// max |τt| per task.
    public var maxAbsolute: [Double]
    /// Coordinates where τt is exactly 0, per task.
    public var zeros: [Int]
    /// Coordinates where model m (0 = base, t = task t) holds a non-finite value.
    public var nonFinite: [Int]
    /// Coordinates where the non-zero entries of the task vectors disagree in sign (what TIES' election resolves).
    public var signConflicts: Int = 0
    /// Whether the statistics that need coordinates — ‖θ0‖², Σ |τ|, max |τ|, the zero, non-finite and sign-conflict
    /// counts — were computed. `false` for a tensor whose task vectors are all LoRA adapters, had from the factors
    /// only (``AdaptedTensorMoments/fromFactors(_:_:scratch:)``: the Gram block, Σ τ and the count, exact; the base
    /// never read): those sums are then NaN (‖θ0‖², Σ |τ|, max |τ|) or 0 (the counts), and every figure derived from
    /// them is NaN. A sum over parts has them only when every part does.
    public var coordinateStatistics = true

    public init(taskCount: Int) {
        self.taskCount = taskCount
        gram = GramMatrix(count: taskCount)
        sum = [Double](repeating: 0, count: taskCount)
        absoluteSum = sum
        maxAbsolute = sum
        zeros = [Int](repeating: 0, count: taskCount)
        nonFinite = [Int](repeating: 0, count: taskCount + 1)
    }

    /// Adds another part's sums.
    public mutating func add(_ other: TaskVectorMoments) {
        elements += other.elements
        coordinateStatistics = coordinateStatistics && other.coordinateStatistics
        gram += other.gram
        baseSquaredNorm += other.baseSquaredNorm
        signConflicts += other.signConflicts
        for t in 0..<taskCount {
            sum[t] += other.sum[t]
            absoluteSum[t] += other.absoluteSum[t]
            maxAbsolute[t] = max(maxAbsolute[t], other.maxAbsolute[t])
            zeros[t] += other.zeros[t]
        }
        for m in 0...taskCount { nonFinite[m] += other.nonFinite[m] }
        if !coordinateStatistics { markCoordinateStatisticsNotComputed() }
    }

    /// Sets ``coordinateStatistics`` to `false` and its sums to "not computed": ‖θ0‖², Σ |τ| and max |τ| NaN, the
    /// zero, non-finite and sign-conflict counts 0.
    public mutating func markCoordinateStatisticsNotComputed() {
        coordinateStatistics = false
        baseSquaredNorm = .nan
        absoluteSum = absoluteSum.map { _ in .nan }
        maxAbsolute = maxAbsolute.map { _ in .nan }
        zeros = zeros.map { _ in 0 }
        nonFinite = nonFinite.map { _ in 0 }
        signConflicts = 0
    }

    /// Adds one finite coordinate's task-vector entries `values` (τt for t = 0..<T) to Σ τ, Σ |τ|, max |τ|, the zero
    /// counts and the sign-conflict count — not to the Gram matrix, ‖θ0‖² or the coordinate count.
    mutating func addEntries(_ values: [Double]) {
        var positive = false, negative = false
        for t in 0..<taskCount {
            let value = values[t]
            sum[t] += value
            absoluteSum[t] += abs(value)
            maxAbsolute[t] = max(maxAbsolute[t], abs(value))
            zeros[t] += value == 0 ? 1 : 0
            positive = positive || value > 0
            negative = negative || value < 0
        }
        if positive && negative && taskCount > 1 { signConflicts += 1 }
    }

    /// ‖τt‖.
    public var norms: [Double] { gram.norms }
    /// ‖θ0‖.
    public var baseNorm: Double { baseSquaredNorm.squareRoot() }
    /// ‖τt‖ / ‖θ0‖: how far fine-tuning moved the weights, relative to their size; NaN when ‖θ0‖ = 0 or was not
    /// computed.
    public var relativeNorms: [Double] { norms.map { baseSquaredNorm > 0 ? $0 / baseNorm : .nan } }
    /// mean |τt| = Σ|τt| / n.
    public var meanAbsolute: [Double] { absoluteSum.map { elements > 0 ? $0 / Double(elements) : .nan } }
    /// Population standard deviation of τt's coordinates, √(Σ τt²/n − (Σ τt/n)²).
    public var standardDeviation: [Double] {
        (0..<taskCount).map { t in
            guard elements > 0 else { return .nan }
            let n = Double(elements)
            let mean = sum[t] / n
            return max(gram[t, t] / n - mean * mean, 0).squareRoot()
        }
    }
    /// Fraction of coordinates where τt is exactly zero; NaN when not computed.
    public var zeroFraction: [Double] {
        zeros.map { elements > 0 && coordinateStatistics ? Double($0) / Double(elements) : .nan }
    }
    /// Fraction of coordinates whose non-zero task-vector entries disagree in sign; NaN when not computed.
    public var signConflictRate: Double {
        elements > 0 && coordinateStatistics ? Double(signConflicts) / Double(elements) : .nan
    }
}
