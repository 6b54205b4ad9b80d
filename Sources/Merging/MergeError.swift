import Foundation

/// A merge that cannot go on for a reason other than its configuration: the system refused a resource, or the
/// arithmetic produced numbers that are not finite.
public enum MergeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A worker thread could not be created (`detail`: the system's reason).
    case threadsUnavailable(String)
    /// The merged tensor `tensor` holds `count` NaN / ±Inf values (first at flat index `index`); from the inputs
    /// when `inputs` names them, else from the arithmetic.
    case nonFinite(tensor: String, count: Int, index: Int, inputs: [String])

    public var description: String {
        switch self {
        case .threadsUnavailable(let detail):
            "cannot create the merge's worker threads (\(detail)); try fewer --threads"
        case .nonFinite(let tensor, let count, let index, let inputs):
            "tensor '\(tensor)': the merge produced \(count) non-finite value(s) (NaN or ±Inf, first at element \(index))"
                + (inputs.isEmpty
                    ? " from finite inputs (overflow in the arithmetic or the output dtype)"
                    : "; the inputs already hold non-finite values (\(inputs.joined(separator: ", ")))")
                + "; nothing was written (pass --allow-non-finite to write it anyway)"
        }
    }
}
