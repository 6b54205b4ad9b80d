import Foundation
import SafeTensors
import TestSupport
import Testing

@Suite("Reading")
struct ReadingTests {
    static let allDtypes = Fixtures.referenceDirectory.appendingPathComponent("all_dtypes.safetensors")

    @Test(
        "readFloat32 on a non-floating tensor names the tensor, the file and the dtype",
        arguments: ["i64", "i32", "u8", "bool", "f8_e4m3", "f8_e5m2", "c64"])
    func notFloatingPoint(_ name: String) throws {
        let file = try SafeTensorsFile(url: Self.allDtypes)
        let info = try #require(file.info(name))
        var buffer = [Float](repeating: 0, count: info.elementCount)
        let error = safeTensorsError {
            try buffer.withUnsafeMutableBufferPointer { try file.readFloat32(name, into: $0) }
        }
        #expect(error?.kind == .notFloatingPoint)
        #expect(error?.tensor == name)
        #expect(
            error?.description.hasPrefix(
                "tensor '\(name)' in \(Self.allDtypes.path): has dtype \(info.dtype.rawValue); arithmetic needs "
                    + "F64/F32/F16/BF16"
            )
                == true, "\(error.map(String.init(describing:)) ?? "no error")")
        // The same bytes are available raw.
        #expect(try file.withRawBytes(name) { $0.count } == info.byteCount)
    }

    @Test("element ranges outside the tensor, or a buffer of the wrong size, are refused")
    func badRanges() throws {
        let file = try SafeTensorsFile(url: Self.allDtypes)
        let count = try #require(file.info("f32")).elementCount
        var buffer = [Float](repeating: 0, count: 4)
        for range in [(count - 2)..<(count + 2), -1..<3] {
            let error = safeTensorsError {
                try buffer.withUnsafeMutableBufferPointer { try file.readFloat32("f32", elements: range, into: $0) }
            }
            #expect(error?.kind == .invalidElementRange)
        }
        let mismatch = safeTensorsError {
            try buffer.withUnsafeMutableBufferPointer { try file.readFloat32("f32", elements: 0..<3, into: $0) }
        }
        #expect(mismatch?.kind == .invalidElementRange)
        let empty = safeTensorsError {
            try buffer.withUnsafeMutableBufferPointer {
                try file.readFloat32("f32", elements: 2..<2, into: UnsafeMutableBufferPointer(rebasing: $0[0..<0]))
            }
        }
        #expect(empty == nil)
    }

    @Test("unknown tensor names are reported")
    func unknownName() throws {
        let file = try SafeTensorsFile(url: Self.allDtypes)
        var buffer = [Float](repeating: 0, count: 1)
        let e1 = safeTensorsError {
            try buffer.withUnsafeMutableBufferPointer { try file.readFloat32("nope", into: $0) }
        }
        let e2 = safeTensorsError { _ = try file.withRawBytes("nope") { $0.count } }
        #expect(e1?.kind == .tensorNotFound && e1?.tensor == "nope")
        #expect(e2?.kind == .tensorNotFound)
    }

    @Test("withRawBytes passes through the body's errors")
    func bodyErrors() throws {
        struct Marker: Error {}
        let file = try SafeTensorsFile(url: Self.allDtypes)
        #expect(throws: Marker.self) { try file.withRawBytes("f32") { _ in throw Marker() } }
    }

    @Test("a file larger than RAM is opened and read at its end without loading it")
    func sparseHugeFile() throws {
        let directory = try makeTemporaryDirectory("huge")
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("huge.safetensors")
        // 64 GiB of BF16 (far more than this machine's RAM), as a sparse file: only the header and the last page
        // hold data.
        let rows = 1 << 17
        let columns = 1 << 18
        var header = Array(
            (#"{"__metadata__":{"format":"pt"},"big":{"dtype":"BF16","shape":[\#(rows),\#(columns)],"#
                + #""data_offsets":[0,\#(rows * columns * 2)]}}"#).utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        let dataStart = 8 + header.count
        let total = dataStart + rows * columns * 2
        #expect(FileManager.default.createFile(atPath: url.path, contents: nil))
        let handle = try FileHandle(forWritingTo: url)
        var length = UInt64(header.count).littleEndian
        try handle.write(contentsOf: Data(bytes: &length, count: 8) + Data(header))
        do {
            try handle.truncate(atOffset: UInt64(total))
        } catch {
            try handle.close()
            Issue.record("cannot create a sparse file here: \(error)")
            return
        }
        // The last two elements: 1.5 (0x3FC0) and -2 (0xC000).
        try handle.seek(toOffset: UInt64(total - 4))
        try handle.write(contentsOf: Data([0xC0, 0x3F, 0x00, 0xC0]))
        try handle.close()

        let file = try SafeTensorsFile(url: url)
        let info = try #require(file.info("big"))
        #expect(info.byteCount == 1 << 36)
        let count = info.elementCount
        var tail = [Float](repeating: .nan, count: 1024)
        try tail.withUnsafeMutableBufferPointer {
            try file.readFloat32("big", elements: (count - 1024)..<count, into: $0)
        }
        #expect(tail[1021] == 0)
        #expect(tail[1022] == 1.5)
        #expect(tail[1023] == -2)
    }

    @Test("one file can be read from many tasks at once")
    func concurrentReads() async throws {
        let file = try SafeTensorsFile(url: Self.allDtypes)
        let expected = try readAllFloats(file, "odd.bf16")
        let results = try await withThrowingTaskGroup(of: [Float].self) { group in
            for _ in 0..<8 {
                group.addTask { try readAllFloats(file, "odd.bf16") }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.count == 8)
        #expect(results.allSatisfy { $0 == expected })
    }

    @Test("DType sizes and the floating-point set")
    func dtypes() {
        #expect(DType.allCases.count == 22)
        #expect(DType.allCases.filter(\.isFloatingPoint) == [.f64, .f32, .f16, .bf16])
        #expect(DType.f64.byteSize == 8 && DType.bf16.byteSize == 2 && DType.f8e4m3.byteSize == 1)
        #expect(DType.c64.byteSize == 8 && DType.f4.bitSize == 4)
        #expect(DType(rawValue: "F8_E4M3") == .f8e4m3)
    }
}
