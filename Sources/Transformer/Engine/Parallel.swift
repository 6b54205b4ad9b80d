import Foundation

/// Splits element-wise work over the machine's cores (`DispatchQueue.concurrentPerform`), for the loops the
/// lockstep engine runs between matrix products: dtype conversion and forming a point's weights.
enum Parallel {
    /// Cores used for element-wise work (the process's active processor count, at least 1).
    static let width = max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// Calls `body` on `width` contiguous parts of `0..<count` at once (one part when `count` is small);
    /// rethrows the first error.
    static func forEachPart(_ count: Int, minimumPart: Int = 32_768, _ body: (Range<Int>) throws -> Void) throws {
        let parts = min(width, max(1, count / minimumPart))
        if parts == 1 {
            try body(0..<count)
            return
        }
        let errors = ErrorBox()
        withoutActuallyEscaping(body) { body in
            let box = UncheckedBox(body)
            DispatchQueue.concurrentPerform(iterations: parts) { part in
                let start = count * part / parts
                let end = count * (part + 1) / parts
                do { try box.value(start..<end) } catch { errors.record(error) }
            }
        }
        if let error = errors.first { throw error }
    }
}

/// Holds a non-Sendable value for the parts of one `concurrentPerform`: each part touches a disjoint range.
private struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

private final class ErrorBox: @unchecked Sendable {
    private let lock = NSLock()
    private var error: (any Error)?
    func record(_ error: any Error) { lock.withLock { if self.error == nil { self.error = error } } }
    var first: (any Error)? { lock.withLock { error } }
}
