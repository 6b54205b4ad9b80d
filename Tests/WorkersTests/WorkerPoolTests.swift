import Foundation
import Testing
import Workers

@Suite("WorkerPool")
struct WorkerPoolTests {
    /// Counts per item, updated from the workers.
    final class Counts: @unchecked Sendable {
        private let lock = NSLock()
        private var counts: [Int]
        init(_ count: Int) { counts = [Int](repeating: 0, count: count) }
        func add(_ item: Int) { lock.withLock { counts[item] += 1 } }
        var values: [Int] { lock.withLock { counts } }
    }

    struct Failure: Error, Equatable { let item: Int }

    @Test("every item runs exactly once, on a worker index below the thread count", arguments: [1, 2, 5])
    func everyItemOnce(threads: Int) throws {
        let pool = try WorkerPool(threads: threads)
        for count in [0, 1, 7, 1000] {
            let counts = Counts(count)
            let workers = Counts(threads)
            try pool.run(count) { item, worker in
                counts.add(item)
                workers.add(worker)
            }
            #expect(counts.values == [Int](repeating: 1, count: count))
            #expect(workers.values.reduce(0, +) == count)
        }
    }

    /// Items ≥ 10 fail. Items are handed out in order, so 0..<10 all run; with one worker nothing starts after
    /// item 10 fails, with several the failures of items already running may come first.
    @Test("the first error is rethrown and every item runs at most once", arguments: [1, 3])
    func firstErrorPropagates(threads: Int) throws {
        let pool = try WorkerPool(threads: threads)
        let counts = Counts(100)
        let error = #expect(throws: Failure.self) {
            try pool.run(100) { item, _ in
                counts.add(item)
                if item >= 10 { throw Failure(item: item) }
            }
        }
        let values = counts.values
        #expect(values.allSatisfy { $0 <= 1 })
        #expect(values[..<10].allSatisfy { $0 == 1 })
        #expect(values[try #require(error).item] == 1)
        if threads == 1 {
            #expect(error == Failure(item: 10))
            #expect(values[11...].allSatisfy { $0 == 0 })
        }
        // The pool is usable afterwards.
        let after = Counts(5)
        try pool.run(5) { item, _ in after.add(item) }
        #expect(after.values == [1, 1, 1, 1, 1])
    }

    @Test("consume sees items in order; its error stops the job")
    func orderedConsume() throws {
        let pool = try WorkerPool(threads: 3)
        let consumed = Counts(1)
        var order: [Int] = []
        try pool.run(50, window: 4, body: { _, _ in }, consume: { order.append($0) })
        #expect(order == Array(0..<50))
        let error = #expect(throws: Failure.self) {
            try pool.run(50, window: 4, body: { _, _ in }, consume: { item in
                consumed.add(0)
                if item == 5 { throw Failure(item: item) }
            })
        }
        #expect(error == Failure(item: 5))
        #expect(consumed.values == [6])
    }

    @Test("several threads may run jobs on one pool at once")
    func concurrentJobs() async throws {
        let pool = try WorkerPool(threads: 2)
        let totals = try await withThrowingTaskGroup(of: [Int].self) { group in
            for _ in 0..<4 {
                group.addTask {
                    let counts = Counts(200)
                    try pool.run(200) { item, _ in counts.add(item) }
                    return counts.values
                }
            }
            var all: [[Int]] = []
            for try await values in group { all.append(values) }
            return all
        }
        #expect(totals.count == 4)
        #expect(totals.allSatisfy { $0 == [Int](repeating: 1, count: 200) })
    }
}
