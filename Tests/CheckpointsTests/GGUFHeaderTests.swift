import Foundation
import TestSupport
import Testing

@testable import Checkpoints

/// ``GGUFHeader`` against headers written by hand from ggml's `gguf.c` layout: magic `GGUF`, UInt32 version, then
/// UInt64 counts (UInt32 in version 1), little-endian.
@Suite("GGUFHeader: recognising a GGUF file")
struct GGUFHeaderTests {
    static func write(_ bytes: [UInt8]) throws -> URL {
        let url = try makeTemporaryDirectory("gguf-header").appendingPathComponent("x.gguf")
        try Data(bytes).write(to: url)
        return url
    }

    @Test func versionThreeCountsAreUInt64() throws {
        let counts: [UInt8] = [0x22, 0x01, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0]
        let url = try Self.write(Array("GGUF".utf8) + [3, 0, 0, 0] + counts)
        #expect(GGUFHeader.read(url) == GGUFHeader(version: 3, tensorCount: 290))
    }

    @Test func versionOneCountsAreUInt32() throws {
        let rest: [UInt8] = [1, 0, 0, 0, 7, 0, 0, 0, 2, 0, 0, 0]
        let url = try Self.write(Array("GGUF".utf8) + rest)
        #expect(GGUFHeader.read(url) == GGUFHeader(version: 1, tensorCount: 7))
    }

    @Test func aTruncatedHeaderHasNoCountAndOtherFilesAreNotGGUF() throws {
        let truncated = try Self.write(Array("GGUF".utf8) + [3, 0, 0, 0, 1])
        #expect(GGUFHeader.read(truncated) == GGUFHeader(version: 3, tensorCount: nil))
        #expect(GGUFHeader.read(try Self.write(Array("GGUF".utf8))) == nil)
        let safetensors: [UInt8] = [2, 0, 0, 0, 0, 0, 0, 0, 0x7b, 0x7d]
        #expect(GGUFHeader.read(try Self.write(safetensors)) == nil)
        #expect(GGUFHeader.read(URL(fileURLWithPath: "/nonexistent/x.gguf")) == nil)
        let error = GGUFHeader(version: 3, tensorCount: 2).error(at: URL(fileURLWithPath: "/m/x.gguf"))
        #expect(error.kind == .ggufFile)
        #expect(error.description.hasPrefix("/m/x.gguf: is a GGUF file (llama.cpp format, version 3, 2 tensors)"))
        #expect(error.description.contains(#"from_pretrained("/m", gguf_file="x.gguf")"#))
    }
}
