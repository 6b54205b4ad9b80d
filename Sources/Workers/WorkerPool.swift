import Foundation
import Interruption

/// A fixed set of worker threads that run the items of jobs: the one worker pool of the package (the statistics
/// pass, the merge executor and the forward pass's element-wise loops all run on it).
///
/// ``run(_:window:body:consume:)`` hands items 0..<count to the workers (each call of `body` gets the item and
/// the worker's index, so a worker can use its own scratch buffers), runs every item exactly once unless one
/// throws, and returns when all are done. With `consume`, the calling thread consumes finished items strictly in
/// item order while the workers go on, and no worker starts an item more than `window` ahead of the next one to
/// consume — an ordered pipeline whose memory is bounded by the window.
///
/// Several threads may call `run` on one pool at once: the workers take items from the oldest job that has work.
/// A `body` must not call `run` on its own pool and wait (every worker could end up waiting).
///
/// Once ``Interruption`` records a signal, no further item starts: the job stops with ``Interrupted``.
package final class WorkerPool: @unchecked Sendable {
    package let threadCount: Int
    private let state: State

    /// Starts `threads` workers (at least one).
    ///
    /// - Throws: ``WorkerPoolError/threadsUnavailable(_:)`` when the system refuses a thread (those already
    ///   started are stopped).
    package init(threads: Int) throws(WorkerPoolError) {
        threadCount = max(1, threads)
        state = State()
        for worker in 0..<threadCount {
            let state = self.state
            do {
                try startThread(stackSize: 1 << 22) { state.workLoop(worker: worker) }
            } catch {
                state.shutdown()
                throw error
            }
        }
    }

    deinit {
        state.shutdown()
    }

    /// Runs `body(item, worker)` for every item; rethrows the first error (items not yet started are skipped).
    package func run(
        _ count: Int, window: Int? = nil, body: @escaping @Sendable (Int, Int) throws -> Void,
        consume: ((Int) throws -> Void)? = nil
    ) throws {
        guard count > 0 else { return }
        let job = Job(count: count, window: consume == nil ? nil : max(1, window ?? 2 * threadCount), body: body)
        state.start(job)
        var consumeError: (any Error)?
        if let consume {
            for item in 0..<count {
                guard state.waitUntilDone(item, in: job) else { break }
                do {
                    try consume(item)
                } catch {
                    consumeError = error
                    state.stop(job)
                    break
                }
                state.consumed(item + 1, in: job)
            }
        }
        let error = state.finish(job)
        if let error = consumeError ?? error { throw error }
    }

    final class Job: @unchecked Sendable {
        let count: Int
        let window: Int?
        let body: @Sendable (Int, Int) throws -> Void
        var next = 0
        var finished = 0
        var running = 0
        var consumed = 0
        var stopped = false
        var error: (any Error)?
        var done: [Bool]

        init(count: Int, window: Int?, body: @escaping @Sendable (Int, Int) throws -> Void) {
            self.count = count
            self.window = window
            self.body = body
            done = [Bool](repeating: false, count: count)
        }

        var hasWork: Bool {
            !stopped && next < count && (window == nil || next < consumed + window!)
        }
    }

    final class State: @unchecked Sendable {
        private let condition = NSCondition()
        /// The jobs being run, oldest first.
        private var jobs: [Job] = []
        private var closing = false

        func start(_ job: Job) {
            condition.lock()
            jobs.append(job)
            condition.broadcast()
            condition.unlock()
        }

        func workLoop(worker: Int) {
            condition.lock()
            while true {
                if closing {
                    condition.unlock()
                    return
                }
                guard let job = jobs.first(where: \.hasWork) else {
                    condition.wait()
                    continue
                }
                let item = job.next
                job.next += 1
                job.running += 1
                condition.unlock()
                var failure: (any Error)?
                do {
                    try Interruption.check()
                    try job.body(item, worker)
                } catch {
                    failure = error
                }
                condition.lock()
                job.running -= 1
                job.finished += 1
                job.done[item] = true
                if let failure, job.error == nil {
                    job.error = failure
                    job.stopped = true
                }
                condition.broadcast()
            }
        }

        /// Waits until `item` is done; false if the job stopped on an error first.
        func waitUntilDone(_ item: Int, in job: Job) -> Bool {
            condition.lock()
            defer { condition.unlock() }
            while !job.done[item] {
                if job.stopped { return false }
                condition.wait()
            }
            return true
        }

        func consumed(_ count: Int, in job: Job) {
            condition.lock()
            job.consumed = count
            condition.broadcast()
            condition.unlock()
        }

        func stop(_ job: Job) {
            condition.lock()
            job.stopped = true
            condition.broadcast()
            condition.unlock()
        }

        /// Waits until no item is running and every item is done (or the job stopped); returns the first error.
        func finish(_ job: Job) -> (any Error)? {
            condition.lock()
            defer { condition.unlock() }
            while job.running > 0 || (!job.stopped && job.finished < job.count) {
                condition.wait()
            }
            jobs.removeAll { $0 === job }
            return job.error
        }

        func shutdown() {
            condition.lock()
            closing = true
            condition.broadcast()
            condition.unlock()
        }
    }
}
