import Foundation
import Testing
import TestSupport

@testable import SafeTensors

#if canImport(Glibc)
import Glibc
#endif

/// Reads through ``StorageReads`` (cached prefix, then `O_DIRECT` chunks, then `pread`) give exactly the file's
/// bytes for every alignment and length, whether the file is cached or was dropped from the page cache — the
/// expected bytes are the file's own, read with Foundation.
@Suite("StorageReads")
struct StorageReadsTests {
    /// One file of ``size`` bytes of a fixed pseudo-random pattern for every case, written and synced once per
    /// process (its name is fixed, so runs replace it rather than leave copies behind).
    static let file: (url: URL, data: Data) = {
        let url = URL(fileURLWithPath: NSTemporaryDirectory())
            .appendingPathComponent("metamerge-storage-reads-\(getpid()).bin")
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            for i in 0..<size {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                buffer[i] = UInt8(truncatingIfNeeded: state >> 56)
            }
            initialized = size
        }
        let data = Data(bytes)
        try! data.write(to: url)
        atexit { _ = unlink(NSTemporaryDirectory() + "/metamerge-storage-reads-\(getpid()).bin") }
        let fd = open(url.path, O_RDONLY)
        fsync(fd)
        close(fd)
        return (url, data)
    }()

    /// The shared file, with its page cache dropped when `dropCache` (so the direct path runs where the filesystem
    /// supports `O_DIRECT`; other cases may warm parts of it again, which exercises the cached-prefix path).
    static func makeFile(dropCache: Bool) -> (URL, Data) {
        if dropCache {
            let fd = open(file.url.path, O_RDONLY)
            _ = posix_fadvise(fd, 0, 0, Int32(POSIX_FADV_DONTNEED))
            close(fd)
        }
        return file
    }

    static let size = 3 * StorageReads.chunkBytes + 12_345

    @Test(
        "every range reads back the file's bytes",
        arguments: [false, true], [
            (0, 1), (1, 4095), (4095, 2), (0, 600_000), (17, StorageReads.directMinimum),
            (4096, StorageReads.chunkBytes), (3, StorageReads.chunkBytes + 9), (12_345, 2 * StorageReads.chunkBytes),
            (0, size), (size - 700_000, 700_000), (size - 1, 1),
        ])
    func ranges(dropCache: Bool, range: (Int, Int)) throws {
        try Self.withDescriptors(dropCache: dropCache) { url, data, fd, direct in
            let (offset, count) = range
            var buffer = [UInt8](repeating: 0xA5, count: count + 2)
            try buffer.withUnsafeMutableBytes { raw in
                try StorageReads.read(
                    fd, direct: direct, offset: offset, count: count, into: raw.baseAddress! + 1, file: url,
                    tensor: "t")
            }
            #expect(buffer[0] == 0xA5 && buffer[count + 1] == 0xA5, "wrote outside the destination")
            #expect(Array(buffer[1...count]) == Array(data[offset..<(offset + count)]))
        }
    }

    /// Calls `body` with the shared file, its bytes, a plain descriptor and an `O_DIRECT` one (or -1).
    static func withDescriptors(
        dropCache: Bool, _ body: (URL, Data, Int32, Int32) throws -> Void
    ) throws {
        let (url, data) = makeFile(dropCache: dropCache)
        let fd = open(url.path, O_RDONLY)
        let direct = StorageReads.openDirect(url.path)
        defer {
            close(fd)
            if direct >= 0 { close(direct) }
        }
        try body(url, data, fd, direct)
    }

    @Test("a range past the end of the file is an error naming the file and tensor", arguments: [false, true])
    func pastEnd(dropCache: Bool) throws {
        try Self.withDescriptors(dropCache: dropCache) { url, _, fd, direct in
            try Self.readPastEnd(url: url, fd: fd, direct: direct)
        }
    }

    static func readPastEnd(url: URL, fd: Int32, direct: Int32) throws {
        let count = StorageReads.chunkBytes
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: count, alignment: 16)
        defer { buffer.deallocate() }
        let error = #expect(throws: SafeTensorsError.self) {
            try StorageReads.read(
                fd, direct: direct, offset: size - count / 2, count: count, into: buffer, file: url,
                tensor: "w")
        }
        #expect(error?.kind == .dataSizeMismatch)
        #expect(error?.tensor == "w")
        #expect(error?.description.contains(url.path) == true)
    }
}
