import Workers

/// A ``WorkerPool`` of `threads` merge workers; a thread the system refuses is
/// ``MergeError/threadsUnavailable(_:)``, whose message suggests fewer `--threads`.
func mergeWorkers(threads: Int) throws(MergeError) -> WorkerPool {
    do {
        return try WorkerPool(threads: threads)
    } catch {
        throw MergeError(error)
    }
}

/// Starts the merge's writer thread (``startThread(stackSize:_:)``), failing as ``mergeWorkers(threads:)`` does.
func startMergeThread(stackSize: Int, _ body: @escaping @Sendable () -> Void) throws(MergeError) {
    do {
        try startThread(stackSize: stackSize, body)
    } catch {
        throw MergeError(error)
    }
}

extension MergeError {
    /// The merge's form of a worker-pool failure.
    init(_ error: WorkerPoolError) {
        switch error {
        case .threadsUnavailable(let detail): self = .threadsUnavailable(detail)
        }
    }
}
