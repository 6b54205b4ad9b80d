/// A symmetric T×T matrix of inner products of task vectors, G[i][j] = ⟨τi, τj⟩, accumulated in Float64.
///
/// Its diagonal holds the squared norms ‖τi‖²; cosines follow by normalisation. Gram matrices of disjoint parts
/// of the parameter vector add: the global matrix is the sum of the per-tensor ones.
public struct GramMatrix: Sendable, Hashable {
    public let count: Int
    /// Row-major T×T entries.
    public var entries: [Double]

    public init(count: Int) {
        self.count = count
        entries = [Double](repeating: 0, count: count * count)
    }

    public init(count: Int, entries: [Double]) {
        precondition(entries.count == count * count, "a \(count)×\(count) Gram matrix needs \(count * count) entries")
        self.count = count
        self.entries = entries
    }

    public subscript(i: Int, j: Int) -> Double {
        get { entries[i * count + j] }
        set { entries[i * count + j] = newValue }
    }

    /// ‖τi‖², the diagonal.
    public var squaredNorms: [Double] { (0..<count).map { self[$0, $0] } }

    /// ‖τi‖.
    public var norms: [Double] { squaredNorms.map { $0.squareRoot() } }

    /// The cosine of the angle between task vectors i and j, ⟨τi, τj⟩ / (‖τi‖ ‖τj‖).
    ///
    /// Returns `nil` when either norm is zero: the angle is undefined, and a gate must not read it as 0.
    public func cosine(_ i: Int, _ j: Int) -> Double? {
        let denominator = (self[i, i] * self[j, j]).squareRoot()
        guard denominator > 0, denominator.isFinite else { return nil }
        return self[i, j] / denominator
    }

    /// The cosine matrix, NaN where undefined (a zero task vector). The diagonal is 1 where defined.
    public var cosines: [Double] {
        var result = [Double](repeating: .nan, count: count * count)
        for i in 0..<count {
            for j in 0..<count { result[i * count + j] = cosine(i, j) ?? .nan }
        }
        return result
    }

    /// MetaGPT's coefficients λt = ‖τt‖² / Σk ‖τk‖² (Theorem 10 of the paper), from this matrix's diagonal.
    public var metagptLambdas: [Double] { Self.metagptLambdas(squaredNorms: squaredNorms) }

    /// MetaGPT's coefficients λt = ‖τt‖² / Σk ‖τk‖² from the squared norms ‖τt‖² — the one place the formula lives.
    ///
    /// They sum to 1. When every task vector is zero (or the sum is not finite) the ratio is undefined and the
    /// uniform 1/T is returned (as MergeKit's SCE weighting does for a zero sum), so a merge of identical models is
    /// their average.
    public static func metagptLambdas(squaredNorms norms: [Double]) -> [Double] {
        let total = norms.reduce(0, +)
        guard total > 0, total.isFinite else { return [Double](repeating: 1 / Double(norms.count), count: norms.count) }
        return norms.map { $0 / total }
    }

    public static func + (lhs: GramMatrix, rhs: GramMatrix) -> GramMatrix {
        GramMatrix(count: lhs.count, entries: zip(lhs.entries, rhs.entries).map(+))
    }

    public static func += (lhs: inout GramMatrix, rhs: GramMatrix) {
        for index in lhs.entries.indices { lhs.entries[index] += rhs.entries[index] }
    }
}
