/// The values a numeric merge parameter may take. Every number must be finite; a range adds bounds (and
/// `count`, integrality).
///
/// Checked when a configuration is parsed — every scalar, every entry of a gradient and every conditional's value —
/// so a NaN, an infinity or an out-of-range value is refused before any weight is read or written.
struct ValueRange: Sendable, Hashable, CustomStringConvertible {
    var lower: Double?
    var lowerInclusive = true
    var upper: Double?
    var upperInclusive = true
    /// Whole numbers only.
    var integer = false

    /// Any finite number (weights, `lambda`, `scale`).
    static let finite = ValueRange()
    /// [0, 1] (`density`, `gamma`, slerp's `t`).
    static let unitInterval = ValueRange(lower: 0, upper: 1)
    /// (0, 1] (`select_topk`).
    static let openUnitInterval = ValueRange(lower: 0, lowerInclusive: false, upper: 1)
    /// ≥ 0 (nearswap's `t`, RAM+'s `r` and `alpha`).
    static let nonNegative = ValueRange(lower: 0)
    /// [0, 0.1]: a tolerance compared with angles in radians and with norms of unit-scale vectors (karcher's `tol`,
    /// multislerp's `eps`) or with weight deltas (RAM's `epsilon`). Beyond it the result stops meaning the method:
    /// karcher with `tol: 1e300` drops every input and writes zeros, multislerp's `eps` ≥ 1 treats every mean as
    /// zero, RAM's `epsilon` above every delta returns the base.
    static let tolerance = ValueRange(lower: 0, upper: 0.1)
    /// A whole number ≥ 0 (karcher's `max_iter`).
    static let count = ValueRange(lower: 0, upper: 1_000_000, integer: true)

    func contains(_ value: Double) -> Bool {
        guard value.isFinite else { return false }
        if integer, value != value.rounded() { return false }
        if let lower, lowerInclusive ? value < lower : value <= lower { return false }
        if let upper, upperInclusive ? value > upper : value >= upper { return false }
        return true
    }

    var description: String {
        let kind = integer ? "a whole number" : "a finite number"
        switch (lower, upper) {
        case (nil, nil): return kind
        case (let lower?, nil): return "\(kind) \(lowerInclusive ? "≥" : ">") \(formatNumber(lower))"
        case (nil, let upper?): return "\(kind) \(upperInclusive ? "≤" : "<") \(formatNumber(upper))"
        case (let lower?, let upper?):
            return
                "\(kind) in \(lowerInclusive ? "[" : "(")\(formatNumber(lower)), "
                + "\(formatNumber(upper))\(upperInclusive ? "]" : ")")"
        }
    }
}
