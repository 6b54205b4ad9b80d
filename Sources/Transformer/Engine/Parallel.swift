import Foundation
import Workers

/// Splits element-wise work over the machine's cores, for the loops the lockstep engine runs between matrix
/// products: dtype conversion and forming a point's weights. The parts run on one ``WorkerPool`` shared by the
/// process, created on first use with ``width`` threads.
enum Parallel {
    /// Cores used for element-wise work (the process's active processor count, at least 1).
    static let width = max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// The process's pool for element-wise work, or why it could not be started.
    private static let pool = Result { () throws(WorkerPoolError) in try WorkerPool(threads: width) }

    /// Calls `body` on `width` contiguous parts of `0..<count` at once (one part, on the calling thread, when
    /// `count` is small); rethrows the first error.
    ///
    /// - Throws: what `body` throws, or ``WorkerPoolError/threadsUnavailable(_:)`` when the pool could not start.
    static func forEachPart(_ count: Int, minimumPart: Int = 32_768, _ body: (Range<Int>) throws -> Void) throws {
        let parts = min(width, max(1, count / minimumPart))
        if parts == 1 {
            try body(0..<count)
            return
        }
        let pool = try pool.get()
        try withoutActuallyEscaping(body) { body in
            let box = UncheckedBox(body)
            try pool.run(parts) { part, _ in
                try box.value((count * part / parts)..<(count * (part + 1) / parts))
            }
        }
    }
}

/// Holds a non-Sendable closure for the parts of one job: each part touches a disjoint range, and the job ends
/// before the closure does.
private struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
