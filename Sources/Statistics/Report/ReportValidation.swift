import Foundation

/// The checks every number read from a report passes, once, in the reader: a damaged or edited report is refused
/// naming the file and the dataset, never turned into a λ, a gate verdict or a recommendation.
///
/// What is checked (`docs/hdf5-schema.md`):
/// - a Gram matrix G (`/tensors/gram`, one T×T block per tensor, and the global sum of those blocks) is finite,
///   symmetric within rounding (|G_ij − G_ji| ≤ 1e-9·√(G_ii G_jj)), has G_ii ≥ 0 and |G_ij| ≤ √(G_ii G_jj)·(1 + 1e-9),
///   and is positive semi-definite within rounding: the smallest eigenvalue of its cosine matrix
///   G_ij / √(G_ii G_jj) (over the tasks with G_ii > 0) is ≥ −``psdTolerance``;
/// - sums and counts are finite and in their ranges (‖θ0‖², Σ|τ|, max|τ| ≥ 0; 0 ≤ zeros, sign conflicts ≤ elements;
///   non-finite counts ≥ 0; elements ≤ the product of the compared shape);
/// - probe maxima are ≥ 0 or NaN (NaN is the schema's "undefined"); ±∞ and negatives are refused.
enum ReportValidation {
    /// How far below 0 the smallest eigenvalue of a cosine matrix (eigenvalues in [0, T]) may be from rounding.
    static let psdTolerance = 1e-6

    /// Refuses a Gram matrix that no set of real vectors has; `dataset` names it (e.g. `/tensors/gram[3] (name)`).
    static func checkGram(_ gram: GramMatrix, taskNames: [String], path: String, dataset: String) throws {
        let T = gram.count
        func fail(_ detail: String) -> AnalysisError {
            .badReport(
                path: path,
                detail: "\(dataset): \(detail); the Gram matrix of task vectors cannot hold that (the report is "
                    + "damaged or was edited) — re-run metamerge analyze")
        }
        func name(_ t: Int) -> String { t < taskNames.count ? taskNames[t] : "\(t)" }
        if let index = gram.entries.firstIndex(where: { !$0.isFinite }) {
            throw fail("G[\(name(index / T))][\(name(index % T))] = \(gram.entries[index]) is not finite")
        }
        for i in 0..<T where gram[i, i] < 0 {
            throw fail("G[\(name(i))][\(name(i))] = ‖τ‖² = \(gram[i, i]) is negative")
        }
        for i in 0..<T {
            for j in (i + 1)..<T {
                // √G_ii·√G_jj rather than √(G_ii·G_jj): no underflow or overflow of the product.
                let bound = gram[i, i].squareRoot() * gram[j, j].squareRoot()
                if abs(gram[i, j] - gram[j, i]) > 1e-9 * bound {
                    throw fail(
                        "G[\(name(i))][\(name(j))] = \(gram[i, j]) but G[\(name(j))][\(name(i))] = \(gram[j, i])")
                }
                if abs(gram[i, j]) > bound * (1 + 1e-9) {
                    throw fail(
                        "|G[\(name(i))][\(name(j))]| = \(abs(gram[i, j])) exceeds √(G_ii·G_jj) = \(bound) "
                            + "(a cosine beyond ±1)")
                }
            }
        }
        let live = (0..<T).filter { gram[$0, $0] > 0 }
        guard live.count > 1 else { return }
        var cosines = live.map { i in
            live.map { j in i == j ? 1 : gram[i, j] / (gram[i, i].squareRoot() * gram[j, j].squareRoot()) }
        }
        let smallest = smallestEigenvalue(&cosines)
        if !(smallest >= -psdTolerance) {
            throw fail(
                String(
                    format: "not positive semi-definite: its cosine matrix has eigenvalue %.3g < 0 (tolerance %g)",
                    smallest, psdTolerance))
        }
    }

    /// The smallest eigenvalue of a symmetric matrix, by cyclic Jacobi rotations (the matrix is overwritten).
    static func smallestEigenvalue(_ a: inout [[Double]]) -> Double {
        let n = a.count
        for _ in 0..<100 {
            var off = 0.0
            for i in 0..<n { for j in 0..<n where i != j { off += a[i][j] * a[i][j] } }
            if off < 1e-30 { break }
            for p in 0..<n {
                for q in (p + 1)..<n where a[p][q] != 0 {
                    let theta = (a[q][q] - a[p][p]) / (2 * a[p][q])
                    let t = (theta >= 0 ? 1.0 : -1.0) / (abs(theta) + (theta * theta + 1).squareRoot())
                    let c = 1 / (t * t + 1).squareRoot(), s = t * c
                    for k in 0..<n {
                        let akp = a[k][p], akq = a[k][q]
                        a[k][p] = c * akp - s * akq
                        a[k][q] = s * akp + c * akq
                    }
                    for k in 0..<n {
                        let apk = a[p][k], aqk = a[q][k]
                        a[p][k] = c * apk - s * aqk
                        a[q][k] = s * apk + c * aqk
                    }
                }
            }
        }
        return (0..<n).map { a[$0][$0] }.min() ?? 0
    }

    /// Refuses a value of `dataset` that is not finite or lies outside `range`; `row` names the tensor.
    static func checkValues(
        _ values: [Double], in range: ClosedRange<Double> = -Double.greatestFiniteMagnitude...Double
            .greatestFiniteMagnitude,
        path: String, dataset: String, row: (Int) -> String
    ) throws {
        if let index = values.firstIndex(where: { !($0.isFinite && range.contains($0)) }) {
            let expected = range.lowerBound == 0 ? "a finite number ≥ 0" : "a finite number"
            throw AnalysisError.badReport(
                path: path, detail: "\(dataset)\(row(index)) = \(values[index]); expected \(expected)")
        }
    }

    /// Refuses a count of `dataset` outside `0...limit(index)`.
    static func checkCounts(
        _ values: [Int], path: String, dataset: String, row: (Int) -> String, limit: (Int) -> Int = { _ in Int.max }
    ) throws {
        if let index = values.indices.first(where: { !(0...limit($0)).contains(values[$0]) }) {
            let bound = limit(index)
            throw AnalysisError.badReport(
                path: path,
                detail: "\(dataset)\(row(index)) = \(values[index]); expected a count in 0…"
                    + (bound == Int.max ? "" : "\(bound)"))
        }
    }

    /// Refuses a probe metric that is negative or infinite (NaN — undefined — is allowed: the gate fails on it).
    static func checkMetric(_ values: [Double], names: [String], path: String, dataset: String) throws {
        if let index = values.firstIndex(where: { !$0.isNaN && !($0.isFinite && $0 >= 0) }) {
            let who = index < names.count ? " ('\(names[index])')" : ""
            throw AnalysisError.badReport(
                path: path,
                detail: "\(dataset)[\(index)]\(who) = \(values[index]); expected a ratio of norms ≥ 0 (or NaN, "
                    + "undefined)")
        }
    }
}
