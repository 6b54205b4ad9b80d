import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Positional reads that copy what the page cache holds and fetch the rest from storage in large direct requests.
///
/// Why (measured on the benchmark machine, a 2-core VM with a virtio disk, `docs/performance.md`): bytes that are
/// not cached arrive through the page cache at 190–220 MB/s, costing about 0.4 s of CPU per 512 MB (buffered
/// `dd`, 8 MB read-ahead, any request size from 128 KB to 64 MB), but at 700–1100 MB/s with almost no CPU when
/// read with `O_DIRECT` in requests of 1–16 MB; bytes already cached are copied by a plain `pread` at several GB/s,
/// and `O_DIRECT` would fetch them from storage again. So a read
/// 1. copies the cached prefix of the range without waiting for storage (`preadv2(…, RWF_NOWAIT)`, which returns
///    the bytes the page cache holds and stops at the first that it does not);
/// 2. reads the rest with `O_DIRECT`, in aligned requests of up to ``chunkBytes`` through a reused, page-aligned
///    bounce buffer, when at least ``directMinimum`` bytes remain (a pass streaming a model larger than RAM);
/// 3. reads small remainders, and everything on filesystems that refuse `O_DIRECT` (tmpfs) or kernels without
///    `preadv2`, with a plain `pread` (the kernel's read-ahead serves sequential small reads).
///
/// Direct reads do not populate the page cache: a file larger than RAM does not evict the rest of the system's
/// cache either. Reads from several threads at once are safe (no shared offset; bounce buffers are per read).
package enum StorageReads {
    /// Remaining bytes from which storage is read with `O_DIRECT` (smaller remainders use `pread`).
    package static let directMinimum = 512 << 10
    /// The largest single direct request, and the bounce buffer's size.
    package static let chunkBytes = 4 << 20
    /// Alignment of direct requests' offsets, lengths and buffers (covers 512-byte and 4 KiB logical blocks).
    static let alignment = 4096

    /// Opens `path` a second time with `O_DIRECT` for reads from storage; -1 where the filesystem refuses it.
    package static func openDirect(_ path: String) -> Int32 {
        #if os(Linux)
        return open(path, O_RDONLY | O_CLOEXEC | directFlag)
        #else
        return -1
        #endif
    }

    /// Reads `count` bytes at file offset `offset` into `destination`: from the page cache where it holds them,
    /// from storage through `direct` (an ``openDirect(_:)`` descriptor, or -1) otherwise.
    ///
    /// - Throws: `.dataSizeMismatch` when the file ends before `offset + count` (truncated while open);
    ///   `.cannotOpen` when a read fails — each naming `file` and `tensor`.
    package static func read(
        _ descriptor: Int32, direct: Int32, offset: Int, count: Int, into destination: UnsafeMutableRawPointer,
        file: URL, tensor: String?
    ) throws(SafeTensorsError) {
        var done = 0
        if direct >= 0, count >= directMinimum, let nowait = preadv2 {
            done = cachedPrefix(descriptor, nowait, offset: offset, count: count, into: destination)
            if count - done >= directMinimum {
                done += readDirect(direct, offset: offset + done, count: count - done, into: destination + done)
            }
        }
        while done < count {
            let got = pread(descriptor, destination + done, count - done, off_t(offset + done))
            if got < 0 {
                if errno == EINTR { continue }
                throw SafeTensorsError(
                    .cannotOpen, file: file, tensor: tensor, "read failed: \(String(cString: strerror(errno)))")
            }
            if got == 0 {
                throw SafeTensorsError(
                    .dataSizeMismatch, file: file, tensor: tensor,
                    "the file ended at byte \(offset + done); was it truncated while open?")
            }
            done += got
        }
    }

    /// The bytes of [offset, offset + count) the page cache holds from `offset` on, copied; 0 when none (or the
    /// filesystem does not support `RWF_NOWAIT`).
    private static func cachedPrefix(
        _ descriptor: Int32, _ nowait: PReadV2, offset: Int, count: Int, into destination: UnsafeMutableRawPointer
    ) -> Int {
        var done = 0
        while done < count {
            var vector = iovec(iov_base: destination + done, iov_len: count - done)
            let got = nowait(descriptor, &vector, 1, off_t(offset + done), noWait)
            if got < 0, errno == EINTR { continue }
            if got <= 0 { break }
            done += got
        }
        return done
    }

    /// Reads what it can of [offset, offset + count) with `O_DIRECT` in aligned requests; returns the bytes placed
    /// (fewer than `count` when a request fails or the file ends: the caller reads the rest with `pread`, which
    /// reports the error).
    private static func readDirect(
        _ direct: Int32, offset: Int, count: Int, into destination: UnsafeMutableRawPointer
    ) -> Int {
        let bounce = BouncePool.shared.take()
        defer { BouncePool.shared.give(bounce) }
        var done = 0
        while done < count {
            let start = offset + done
            let alignedStart = start / alignment * alignment
            let skip = start - alignedStart
            let wanted = min(count - done, chunkBytes - skip)
            let length = (skip + wanted + alignment - 1) / alignment * alignment
            let got = pread(direct, bounce, length, off_t(alignedStart))
            if got < 0, errno == EINTR { continue }
            guard got > skip else { break }
            let placed = min(wanted, got - skip)
            (destination + done).copyMemory(from: bounce + skip, byteCount: placed)
            done += placed
            if got < length { break }  // end of file: the caller's pread says so if bytes are missing
        }
        return done
    }

    typealias PReadV2 = @convention(c) (Int32, UnsafePointer<iovec>?, Int32, off_t, Int32) -> Int

    /// glibc's `preadv2` (Linux 4.6+, glibc 2.26+), looked up at run time: Swift's Glibc module does not export it.
    private static let preadv2: PReadV2? = {
        #if os(Linux)
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "preadv2") else { return nil }
        return unsafeBitCast(symbol, to: PReadV2.self)
        #else
        return nil
        #endif
    }()

    /// `RWF_NOWAIT` (linux/fs.h): return what the page cache holds instead of waiting for storage.
    private static let noWait: Int32 = 0x0000_0008

    #if os(Linux)
    /// `O_DIRECT` (asm-generic/fcntl.h; not exported by Swift's Glibc module): 0o40000 on x86-64, 0o200000 on arm64.
    private static let directFlag: Int32 = {
        #if arch(arm64)
        return 0o200000
        #else
        return 0o40000
        #endif
    }()
    #endif
}

/// Page-aligned buffers of ``StorageReads/chunkBytes`` for direct reads, reused across reads and threads: one per
/// concurrent direct read, allocated on first need and kept (first-touching fresh memory is itself slow on a VM).
private final class BouncePool: @unchecked Sendable {
    static let shared = BouncePool()
    private let lock = NSLock()
    private var free: [UnsafeMutableRawPointer] = []

    func take() -> UnsafeMutableRawPointer {
        if let buffer = lock.withLock({ free.popLast() }) { return buffer }
        return UnsafeMutableRawPointer.allocate(byteCount: StorageReads.chunkBytes, alignment: StorageReads.alignment)
    }

    func give(_ buffer: UnsafeMutableRawPointer) {
        lock.withLock { free.append(buffer) }
    }
}
