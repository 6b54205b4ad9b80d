import Checkpoints
import Foundation

/// The output stream of a merge: chunks produced by any worker, in any order, appended to the ``ModelWriter`` by
/// one writer thread strictly in sequence.
///
/// Chunk k goes to slot k mod `window`; ``reserve(_:bytes:)`` blocks until chunk k − window has been written, so
/// at most `window` chunks are in memory. The lowest unwritten chunk can always be reserved, so producers that
/// take chunks in increasing order never deadlock. Computing and writing overlap across tensor boundaries.
final class OrderedOutput: @unchecked Sendable {
    private struct Item {
        let sequence: Int
        let tensor: String
        let bytes: Int
        let elements: Int
    }

    private let writer: ModelWriter
    private let window: Int
    private let progress: (any MergeProgressReporting)?
    private let condition = NSCondition()
    private var slots: [UnsafeMutableRawBufferPointer]
    private var ready: [Item?]
    private var written = 0
    private var total: Int?
    private var failure: (any Error)?
    private var done = false

    init(writer: ModelWriter, window: Int, progress: (any MergeProgressReporting)?) throws {
        self.writer = writer
        self.window = max(1, window)
        self.progress = progress
        slots = (0..<max(1, window)).map { _ in UnsafeMutableRawBufferPointer(start: nil, count: 0) }
        ready = [Item?](repeating: nil, count: max(1, window))
        try startMergeThread(stackSize: 1 << 20) { [self] in self.writeLoop() }
    }

    deinit {
        for slot in slots { slot.deallocate() }
    }

    /// Memory for chunk `sequence`'s `bytes` encoded bytes; blocks while the window is full.
    ///
    /// - Throws: the writer's error, once writing failed.
    func reserve(_ sequence: Int, bytes: Int) throws -> UnsafeMutableRawPointer {
        condition.lock()
        defer { condition.unlock() }
        while sequence >= written + window && failure == nil {
            condition.wait()
        }
        if let failure { throw failure }
        let index = sequence % window
        if slots[index].count < bytes {
            slots[index].deallocate()
            slots[index] = .allocate(byteCount: max(bytes, 1), alignment: 64)
        }
        return slots[index].baseAddress!
    }

    /// Marks chunk `sequence` (reserved, and filled with `bytes` bytes of tensor `tensor`) ready to write.
    func publish(_ sequence: Int, tensor: String, bytes: Int, elements: Int) {
        condition.lock()
        ready[sequence % window] = Item(sequence: sequence, tensor: tensor, bytes: bytes, elements: elements)
        condition.broadcast()
        condition.unlock()
    }

    /// Waits until all `count` chunks are written; rethrows the writer's error.
    func finish(count: Int) throws {
        condition.lock()
        total = count
        condition.broadcast()
        while !done {
            condition.wait()
        }
        condition.unlock()
        if let failure { throw failure }
    }

    /// Records a producer's error without waiting: producers blocked in ``reserve(_:bytes:)`` (waiting for a chunk
    /// that will now never be published) wake up and throw it.
    func fail(_ error: any Error) {
        condition.lock()
        if failure == nil { failure = error }
        condition.broadcast()
        condition.unlock()
    }

    /// Stops the writer thread after an error elsewhere (nothing more will be published).
    func abandon(_ error: any Error) {
        condition.lock()
        if failure == nil { failure = error }
        condition.broadcast()
        while !done {
            condition.wait()
        }
        condition.unlock()
    }

    private func writeLoop() {
        condition.lock()
        while true {
            if failure != nil || (total != nil && written >= total!) {
                done = true
                condition.broadcast()
                condition.unlock()
                return
            }
            let index = written % window
            guard let item = ready[index], item.sequence == written else {
                condition.wait()
                continue
            }
            let buffer = UnsafeRawBufferPointer(start: slots[index].baseAddress, count: item.bytes)
            condition.unlock()
            var error: (any Error)?
            do {
                try writer.append(item.tensor, raw: buffer)
            } catch let caught {
                error = caught
            }
            progress?.advance(Double(item.elements))
            condition.lock()
            ready[index] = nil
            written += 1
            if let error, failure == nil { failure = error }
            condition.broadcast()
        }
    }
}
