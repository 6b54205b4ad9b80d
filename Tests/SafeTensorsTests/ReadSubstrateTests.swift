import Foundation
import SafeTensors
import TestSupport
import Testing

/// The `package` read API the other modules use: tensor elements or raw file bytes into a caller's buffer, with
/// errors that name the file and the tensor.
@Suite("Read substrate")
struct ReadSubstrateTests {
    /// Calls `body` with a file holding `a` (F32, values 0..<1000) then `b` (BF16, 3000 values 1.0) — `a`'s data is
    /// file bytes dataStart..<dataStart+4000, `b`'s the 6000 after — in a new temporary directory, its URL, and a
    /// 64 KiB buffer.
    static func withFile(_ body: (SafeTensorsFile, URL, UnsafeMutableRawPointer) throws -> Void) throws {
        let directory = try makeTemporaryDirectory("substrate")
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("two.safetensors")
        let writer = try SafeTensorsWriter(url: url, tensors: [("a", .f32, [1000]), ("b", .bf16, [3000])])
        try (0..<1000).map(Float.init).withUnsafeBufferPointer { try writer.append("a", float32: $0) }
        try [Float](repeating: 1, count: 3000).withUnsafeBufferPointer { try writer.append("b", float32: $0) }
        try writer.finish()
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 1 << 16, alignment: 8)
        defer { buffer.deallocate() }
        try body(try SafeTensorsFile(url: url), url, buffer)
    }

    @Test("elements and raw file bytes read the stored bytes")
    func readsStoredBytes() throws {
        try Self.withFile { file, _, buffer in
            try file.read("a", elements: 10..<13, into: buffer)
            #expect((0..<3).map { buffer.load(fromByteOffset: 4 * $0, as: Float.self) } == [10, 11, 12])
            let start = file.dataStart + (try #require(file.info("b"))).dataOffsets.lowerBound
            try file.read(fileBytes: start..<(start + 4), into: buffer)
            // BF16 1.0 (0x3F80), little-endian, twice.
            #expect((0..<4).map { buffer.load(fromByteOffset: $0, as: UInt8.self) } == [0x80, 0x3F, 0x80, 0x3F])
        }
    }

    @Test("elements outside the tensor and bytes outside the file are refused, naming the tensor")
    func outOfRange() throws {
        try Self.withFile { file, url, buffer in
            for range in [998..<1002, -1..<2] {
                let error = safeTensorsError { try file.read("a", elements: range, into: buffer) }
                #expect(error?.kind == .invalidElementRange)
                #expect(error?.tensor == "a")
                #expect(error?.file == url)
            }
            let past = safeTensorsError {
                try file.read(fileBytes: (file.byteCount - 2)..<(file.byteCount + 2), into: buffer)
            }
            #expect(past?.kind == .invalidElementRange)
            #expect(past?.tensor == "b")
            let missing = safeTensorsError { try file.read("c", elements: 0..<1, into: buffer) }
            #expect(missing?.kind == .tensorNotFound)
        }
    }

    /// A file cut short after it was opened: every read of the lost bytes is an error naming the file and the
    /// tensor (never a SIGBUS), while the bytes still there read as before.
    @Test("a file truncated while open gives an error naming the file and the tensor")
    func truncatedWhileOpen() throws {
        try Self.withFile { file, url, buffer in
            let handle = try FileHandle(forWritingTo: url)
            try handle.truncate(atOffset: UInt64(file.dataStart + 4000 + 100))
            try handle.close()

            try file.read("a", elements: 0..<1000, into: buffer)
            #expect(buffer.load(fromByteOffset: 999 * 4, as: Float.self) == 999)
            var floats = [Float](repeating: 0, count: 3000)
            let errors = [
                safeTensorsError { try file.read("b", elements: 0..<3000, into: buffer) },
                safeTensorsError { try floats.withUnsafeMutableBufferPointer { try file.readFloat32("b", into: $0) } },
                safeTensorsError { try file.read(fileBytes: (file.dataStart + 4000)..<file.byteCount, into: buffer) },
            ]
            for error in errors {
                #expect(error?.kind == .dataSizeMismatch)
                #expect(error?.tensor == "b")
                #expect(error?.file == url)
                #expect(error?.description.contains("truncated while open") == true, "\(String(describing: error))")
            }
        }
    }
}
