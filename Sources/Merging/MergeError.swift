import Foundation

/// A merge that cannot go on for a reason other than its configuration: the system refused a resource, or the
/// arithmetic produced numbers that are not finite.
public enum MergeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The gate failed (`violations` of them) and the merge was not forced: nothing is written.
    case gateFailed(violations: Int)
    /// A worker thread could not be created (`detail`: the system's reason).
    case threadsUnavailable(String)
    /// A chunk of the merged tensor `tensor` holds `count` NaN / ±Inf values (first at flat index `index`), or
    /// values that overflow its output dtype.
    case nonFinite(tensor: String, count: Int, index: Int, dtype: String)

    public var description: String {
        switch self {
        case .gateFailed(let violations):
            "the gate failed (\(violations) violation(s)); refusing to write without --force"
        case .threadsUnavailable(let detail):
            "cannot create the merge's worker threads (\(detail)); try fewer --threads"
        case .nonFinite(let tensor, let count, let index, let dtype):
            "tensor '\(tensor)': the merge produced \(count) value(s) that are NaN, ±Inf or beyond \(dtype)'s range "
                + "(first at element \(index)) — from non-finite inputs (`metamerge analyze` counts them per tensor), "
                + "a NaN/Inf parameter, or overflow; nothing was written (--allow-non-finite writes it anyway)"
        }
    }
}
