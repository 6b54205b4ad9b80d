/// Why a ``WorkerPool`` could not run.
package enum WorkerPoolError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The system refused to create a worker thread (`detail`: its reason, e.g. a process or memory limit).
    case threadsUnavailable(String)

    package var description: String {
        switch self {
        case .threadsUnavailable(let detail): "cannot create worker threads (\(detail))"
        }
    }
}
