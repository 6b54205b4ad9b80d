import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The sequential byte stream of one output file, written with direct I/O (`O_DIRECT`, bypassing the page cache)
/// where the file system allows it, else with ordinary buffered `write(2)`s.
///
/// Buffered writes of a large file cost a kernel copy into the page cache plus the page cache's own bookkeeping
/// — on the machines measured, more CPU time than a merge's arithmetic. With direct I/O the bytes are copied
/// once into one of two `bufferBytes` staging buffers (aligned to 4096 bytes); each full buffer is written by a
/// background thread with one `pwrite(2)` at an aligned offset while the caller fills the other. At ``finish()``
/// the last whole 4096-byte blocks are written directly and the unaligned tail through the same descriptor with
/// `O_DIRECT` cleared, so the file has exactly the bytes appended, as with buffered writes.
///
/// Falls back to buffered writes — for the whole file, or from the first failing block on — when `O_DIRECT`
/// cannot be set on the descriptor or a direct write fails with `EINVAL` (file systems without direct I/O).
/// Other errors (`ENOSPC`, `EIO`, …) are thrown from the next ``write(_:)`` or ``finish()`` as
/// ``SafeTensorsError/Kind/writeFailed``, with the `strerror` text.
///
/// The descriptor stays the caller's: this type never closes it. Use from one thread at a time; ``cancel()``
/// (or release) stops the background thread, after the write in flight if any.
package final class StagedFileOutput: @unchecked Sendable {
    /// How the bytes reach the file.
    package enum Mode: Sendable, Equatable {
        /// `write(2)` as given, through the page cache.
        case buffered
        /// Direct I/O where the file system allows it, for files of at least ``directThreshold`` bytes.
        case direct
        /// Direct I/O whatever the file's size; with `failingAfter`, direct block writes after that many fail as
        /// with `EINVAL` — the fallback of a file system without direct I/O, for tests.
        case forcedDirect(failingAfter: Int?)
    }

    /// Direct I/O buffer, offset and length alignment.
    package static let alignment = 4096
    /// Bytes per staging buffer (two are used).
    package static let defaultBufferBytes = 8 << 20
    /// Files smaller than this are written buffered: staging would cost more than it saves.
    package static let directThreshold = 4 << 20

    let url: URL
    let descriptor: Int32
    /// Whether direct I/O is (still) in use; cleared by a fallback.
    package private(set) var isDirect: Bool
    /// Bytes handed to the file so far (written or staged).
    package private(set) var offset = 0

    private let bufferBytes: Int
    private var buffers: [UnsafeMutableRawPointer] = []
    /// Staging buffer being filled, and its fill.
    private var current = 0
    private var fill = 0
    private var failAfter: Int?

    // Shared with the background thread, under `condition`.
    private let condition = NSCondition()
    private var job: (buffer: UnsafeMutableRawPointer, offset: Int, count: Int)?
    private var failure: SafeTensorsError?
    private var stopping = false
    private var fellBack = false
    private var running = false

    /// - Parameters:
    ///   - descriptor: open for writing at offset 0 (the stream writes with `pwrite` at its own offsets).
    ///   - expectedBytes: the file's size when complete; below ``directThreshold`` the file is written buffered.
    package init(
        descriptor: Int32, url: URL, expectedBytes: Int, mode: Mode = .direct,
        bufferBytes: Int = StagedFileOutput.defaultBufferBytes
    ) {
        self.url = url
        self.descriptor = descriptor
        let block = Self.alignment
        // Never more staging than the file needs.
        self.bufferBytes = max(block, min(bufferBytes, (expectedBytes + block - 1) / block * block) / block * block)
        var direct = false
        switch mode {
        case .buffered: break
        case .direct: direct = expectedBytes >= Self.directThreshold && Self.setDirect(descriptor, true)
        case .forcedDirect(let failingAfter):
            direct = Self.setDirect(descriptor, true)
            failAfter = failingAfter
        }
        isDirect = direct
        guard direct else { return }
        for _ in 0..<2 {
            var pointer: UnsafeMutableRawPointer?
            guard posix_memalign(&pointer, block, self.bufferBytes) == 0, let pointer else {
                isDirect = false
                _ = Self.setDirect(descriptor, false)
                return
            }
            buffers.append(pointer)
        }
        running = true
        let thread = Thread { [self] in self.ioLoop() }
        thread.stackSize = 1 << 18
        thread.start()
    }

    deinit {
        cancel()
        for buffer in buffers { free(buffer) }
    }

    /// Appends `bytes` to the file.
    ///
    /// - Throws: `.writeFailed` for a failed write (this one's or an earlier staged block's).
    package func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard var source = bytes.baseAddress, bytes.count > 0 else { return }
        guard isDirect else {
            try Self.writeAll(descriptor, source, bytes.count, at: offset, url: url)
            offset += bytes.count
            return
        }
        var remaining = bytes.count
        while remaining > 0 {
            let n = min(remaining, bufferBytes - fill)
            (buffers[current] + fill).copyMemory(from: source, byteCount: n)
            fill += n
            source += n
            remaining -= n
            offset += n
            if fill == bufferBytes { try submit() }
            if !isDirect, remaining > 0 {  // a fallback happened: the rest goes straight to the file
                try Self.writeAll(descriptor, source, remaining, at: offset, url: url)
                offset += remaining
                return
            }
        }
    }

    /// Writes what is staged and waits for the background writes; the file then holds every appended byte.
    ///
    /// - Throws: `.writeFailed` for a failed write.
    package func finish() throws {
        guard !buffers.isEmpty else { return }
        try waitIdle()
        if fill > 0 {
            let start = offset - fill
            var done = 0
            if isDirect {
                done = fill / Self.alignment * Self.alignment
                if done > 0, try writeBlock(buffers[current], offset: start, count: done) { isDirect = false }
                if fill > done, isDirect {
                    _ = Self.setDirect(descriptor, false)
                    isDirect = false
                }
            }
            if fill > done {
                try Self.writeAll(descriptor, buffers[current] + done, fill - done, at: start + done, url: url)
            }
            fill = 0
        }
        cancel()
    }

    /// Stops the background thread (after the write in flight); nothing more is written.
    package func cancel() {
        condition.lock()
        stopping = true
        condition.broadcast()
        while running { condition.wait() }
        condition.unlock()
    }

    // MARK: Internals

    /// Hands the full current buffer to the background thread and switches to the other one.
    private func submit() throws {
        try waitIdle()
        guard isDirect else {
            // The previous block fell back to buffered writes: write this one the same way.
            try Self.writeAll(descriptor, buffers[current], fill, at: offset - fill, url: url)
            fill = 0
            return
        }
        condition.lock()
        job = (buffers[current], offset - fill, fill)
        condition.broadcast()
        condition.unlock()
        current = 1 - current
        fill = 0
    }

    /// Waits until no block is being written; applies a fallback the background thread made; throws its error.
    private func waitIdle() throws {
        condition.lock()
        while job != nil { condition.wait() }
        let error = failure
        if fellBack { isDirect = false }
        condition.unlock()
        if let error { throw error }
    }

    private func ioLoop() {
        condition.lock()
        while true {
            while job == nil && !stopping { condition.wait() }
            guard let (buffer, offset, count) = job else { break }
            condition.unlock()
            var error: SafeTensorsError?
            var fallback = false
            do {
                fallback = try writeBlock(buffer, offset: offset, count: count)
            } catch let caught as SafeTensorsError {
                error = caught
            } catch let other {
                error = SafeTensorsError(.writeFailed, file: url, "write failed: \(other)")
            }
            condition.lock()
            if let error, failure == nil { failure = error }
            if fallback { fellBack = true }
            job = nil
            condition.broadcast()
        }
        running = false
        condition.broadcast()
        condition.unlock()
    }

    /// Writes a block (aligned when direct I/O is in use). On `EINVAL` from a direct write, clears `O_DIRECT` on the
    /// descriptor, writes the rest buffered and returns `true`: the caller then stops using direct I/O. Reads
    /// `isDirect` but never changes it (the background thread calls it).
    private func writeBlock(_ buffer: UnsafeMutableRawPointer, offset: Int, count: Int) throws -> Bool {
        guard isDirect else {
            try Self.writeAll(descriptor, buffer, count, at: offset, url: url)
            return false
        }
        var written = 0
        var invalid = false
        if let remaining = failAfter {
            if remaining == 0 { invalid = true } else { failAfter = remaining - 1 }
        }
        while written < count && !invalid {
            let n = pwrite(descriptor, buffer + written, count - written, off_t(offset + written))
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EINVAL { invalid = true; break }
                throw SafeTensorsError(.writeFailed, file: url, "write failed: \(String(cString: strerror(errno)))")
            }
            written += n
            // A short direct write leaves an unaligned remainder: finish it buffered.
            if written < count && written % Self.alignment != 0 { invalid = true }
        }
        guard invalid else { return false }
        _ = Self.setDirect(descriptor, false)
        try Self.writeAll(descriptor, buffer + written, count - written, at: offset + written, url: url)
        return true
    }

    /// `pwrite`s all `count` bytes at `offset`, retrying short writes and `EINTR`.
    static func writeAll(
        _ descriptor: Int32, _ source: UnsafeRawPointer, _ count: Int, at offset: Int, url: URL
    ) throws {
        var done = 0
        while done < count {
            let n = pwrite(descriptor, source + done, min(count - done, 1 << 30), off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw SafeTensorsError(.writeFailed, file: url, "write failed: \(String(cString: strerror(errno)))")
            }
            done += n
        }
    }

    /// Sets or clears `O_DIRECT` on `descriptor`; whether the file is now in the requested mode.
    static func setDirect(_ descriptor: Int32, _ on: Bool) -> Bool {
        #if os(Linux)
            let flags = fcntl(descriptor, F_GETFL)
            guard flags >= 0 else { return false }
            let updated = on ? flags | directFlag : flags & ~directFlag
            return fcntl(descriptor, F_SETFL, updated) == 0
        #else
            return !on
        #endif
    }

    #if os(Linux)
        /// `O_DIRECT`, which Glibc's module map does not export (it needs `_GNU_SOURCE`).
        #if arch(x86_64) || arch(i386)
            static let directFlag: Int32 = 0o40000
        #else
            static let directFlag: Int32 = 0o200000
        #endif
    #endif
}
