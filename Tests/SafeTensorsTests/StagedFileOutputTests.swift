import Foundation
import SafeTensors
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The output stream behind `SafeTensorsWriter`: direct I/O through aligned staging buffers, the unaligned tail
/// written without `O_DIRECT`, and the fallback to buffered writes. Whatever the path, the file must hold exactly
/// the bytes appended — checked against the byte pattern itself.
@Suite("Staged file output")
struct StagedFileOutputTests {
    /// A pattern that differs at every position of a block (so a misplaced or repeated block shows).
    static func pattern(_ count: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ $0 >> 12) }
    }

    /// Writes `bytes` in appends of the given sizes (cycled) with a stream of 8 KiB buffers; returns the file's
    /// contents and whether direct I/O was still in use at the end.
    static func write(
        _ bytes: [UInt8], appends: [Int], mode: StagedFileOutput.Mode, in directory: URL
    ) throws -> (Data, Bool) {
        let url = directory.appendingPathComponent("out-\(UUID().uuidString).bin")
        let descriptor = open(url.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        try #require(descriptor >= 0)
        defer { close(descriptor) }
        let output = StagedFileOutput(
            descriptor: descriptor, url: url, expectedBytes: bytes.count, mode: mode, bufferBytes: 8192)
        var done = 0
        var step = 0
        try bytes.withUnsafeBytes { raw in
            while done < bytes.count {
                let n = min(appends[step % appends.count], bytes.count - done)
                try output.write(UnsafeRawBufferPointer(rebasing: raw[done..<(done + n)]))
                done += n
                step += 1
            }
        }
        try output.finish()
        return (try Data(contentsOf: url), output.isDirect)
    }

    /// Sizes around the 4096-byte block and the 8192-byte buffer, and several buffers with a ragged tail.
    static let sizes = [0, 1, 4095, 4096, 4097, 8191, 8192, 8193, 3 * 8192 + 100, 100_003]

    @Test("direct and buffered streams write exactly the bytes appended", arguments: sizes)
    func bytesAreExact(_ size: Int) throws {
        let directory = try makeTemporaryDirectory("staged")
        defer { try? FileManager.default.removeItem(at: directory) }
        let bytes = Self.pattern(size)
        let modes: [StagedFileOutput.Mode] = [
            .buffered, .forcedDirect(failingAfter: nil), .forcedDirect(failingAfter: 0),
            .forcedDirect(failingAfter: 2),
        ]
        for mode in modes {
            // Appends of odd sizes (straddling buffer and block boundaries) and of one large piece.
            for appends in [[1, 5000, 3, 12_288, 777], [size]] {
                let (contents, _) = try Self.write(bytes, appends: appends, mode: mode, in: directory)
                #expect(contents == Data(bytes), "\(mode), size \(size), appends \(appends)")
            }
        }
    }

    @Test("a file system refusing direct writes (EINVAL) gets the rest of the file buffered")
    func fallbackIsBuffered() throws {
        let directory = try makeTemporaryDirectory("staged-fallback")
        defer { try? FileManager.default.removeItem(at: directory) }
        let bytes = Self.pattern(5 * 8192 + 123)
        let (direct, stillDirect) = try Self.write(
            bytes, appends: [10_000], mode: .forcedDirect(failingAfter: nil), in: directory)
        #expect(direct == Data(bytes))
        // The tail is written with O_DIRECT cleared; the stream reports the mode it ended in.
        #expect(!stillDirect)
        for failingAfter in [0, 1, 3] {
            let (contents, isDirect) = try Self.write(
                bytes, appends: [10_000], mode: .forcedDirect(failingAfter: failingAfter), in: directory)
            #expect(contents == Data(bytes), "failing after \(failingAfter) blocks")
            #expect(!isDirect)
        }
    }

    @Test("direct I/O is in use on this file system for blocks (unless it refuses O_DIRECT)")
    func directIsUsed() throws {
        let directory = try makeTemporaryDirectory("staged-direct")
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("probe.bin")
        let descriptor = open(url.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        try #require(descriptor >= 0)
        defer { close(descriptor) }
        let output = StagedFileOutput(
            descriptor: descriptor, url: url, expectedBytes: 1 << 20, mode: .forcedDirect(failingAfter: nil),
            bufferBytes: 8192)
        let flags = fcntl(descriptor, F_GETFL)
        let direct: Int32 = 0o40000  // O_DIRECT on x86_64
        #if arch(x86_64)
        #expect(output.isDirect == (flags & direct != 0))
        #endif
        output.cancel()
    }

    @Test("a writer using direct I/O gives a file byte-identical to safetensors.torch.save_file")
    func writerDirectIsByteIdentical() throws {
        let directory = try makeTemporaryDirectory("staged-writer")
        defer { try? FileManager.default.removeItem(at: directory) }
        let name = "all_dtypes.safetensors"
        let referenceURL = Fixtures.referenceDirectory.appendingPathComponent(name)
        let reference = try SafeTensorsFile(url: referenceURL)
        let url = directory.appendingPathComponent(name)
        let writer = try SafeTensorsWriter(
            url: url, tensors: reference.tensors.map { ($0.name, $0.dtype, $0.shape) },
            output: .forcedDirect(failingAfter: nil))
        for info in writer.tensors {
            try reference.withRawBytes(info.name) { try writer.append(info.name, raw: $0) }
        }
        try writer.finish()
        #expect(try Data(contentsOf: url) == Data(contentsOf: referenceURL))
    }
}
