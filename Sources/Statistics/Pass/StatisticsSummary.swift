import Checkpoints

/// The headline figures of a ``TaskVectorStatistics``, for terminals and `--json`.
public struct StatisticsSummary: Sendable, Codable {
    public struct Layer: Sendable, Codable {
        public let label: String
        /// The largest |cos| over task pairs in this group; `nil` when all are undefined.
        public let maxAbsCosine: Double?
        /// The pair with that cosine.
        public let pair: [String]
    }

    public let tasks: [String]
    /// Global cosine matrix, row-major; `nil` entries are undefined (zero task vector).
    public let cosine: [[Double?]]
    public let metagptLambda: [Double]
    public let norm: [Double]
    public let relativeNorm: [Double]
    public let signConflictRate: Double
    public let maxAbsCosine: Double?
    /// Groups ordered from least to most orthogonal.
    public let leastOrthogonal: [Layer]
    public let tensorsCompared: Int
    public let parametersCompared: Int
    public let problems: [String]
    public let nonFiniteValues: [Int]
    /// Tensors whose per-coordinate statistics (‖θ0‖, relative norms, sign conflicts, zeros, non-finite counts) were
    /// not computed because their task vectors are all LoRA adapters, read from the factors only
    /// (``TaskVectorMoments/coordinateStatistics``); the global relative norms and sign-conflict rate are then NaN.
    public let tensorsWithoutCoordinateStatistics: Int

    public init(_ statistics: TaskVectorStatistics) {
        let global = statistics.global.moments
        let T = statistics.taskCount
        tasks = statistics.taskNames
        cosine = (0..<T).map { i in (0..<T).map { j in global.gram.cosine(i, j) } }
        metagptLambda = global.gram.metagptLambdas
        norm = global.norms
        relativeNorm = global.relativeNorms
        signConflictRate = global.signConflictRate
        maxAbsCosine = Self.maxAbsCosine(global.gram, names: statistics.taskNames)?.0
        leastOrthogonal = statistics.groups.map { group in
            let worst = Self.maxAbsCosine(group.moments.gram, names: statistics.taskNames)
            return Layer(label: group.label, maxAbsCosine: worst?.0, pair: worst?.1 ?? [])
        }.sorted { ($0.maxAbsCosine ?? -1) > ($1.maxAbsCosine ?? -1) }
        tensorsCompared = statistics.tensors.count
        parametersCompared = global.elements
        problems = statistics.problems.map(\.description)
        nonFiniteValues = global.nonFinite
        tensorsWithoutCoordinateStatistics = statistics.tensors.filter { !$0.moments.coordinateStatistics }.count
    }

    /// The largest |cos(τi, τj)| over i < j, with the pair's names; `nil` when none is defined.
    static func maxAbsCosine(_ gram: GramMatrix, names: [String]) -> (Double, [String])? {
        var best: (Double, [String])?
        for i in 0..<gram.count {
            for j in (i + 1)..<gram.count {
                guard let value = gram.cosine(i, j) else { continue }
                if best == nil || abs(value) > best!.0 { best = (abs(value), [names[i], names[j]]) }
            }
        }
        return best
    }
}
