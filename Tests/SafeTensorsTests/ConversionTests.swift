import Foundation
import SafeTensors
import TestSupport
import Testing

/// Float32 → BF16/F16 encoding (through the writer, the only public path) against torch's conversions, and
/// BF16/F16 → Float32 decoding over every bit pattern.
@Suite("Float conversion")
struct ConversionTests {
    /// Writes `inputs` as one tensor of `dtype` through `append(_:float32:)` and returns the stored 16-bit words.
    static func encodeThroughWriter(_ inputs: [Float], as dtype: DType) throws -> [UInt16] {
        let directory = try makeTemporaryDirectory("conversion")
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("t.safetensors")
        let writer = try SafeTensorsWriter(url: url, tensors: [("t", dtype, [inputs.count])])
        try inputs.withUnsafeBufferPointer { try writer.append("t", float32: $0) }
        try writer.finish()
        let file = try SafeTensorsFile(url: url)
        return try file.withRawBytes("t") { raw in
            (0..<inputs.count).map { UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self)) }
        }
    }

    static let cases = Fixtures.rounding.cases
    static let inputs = cases.map { Float(bitPattern: $0.input_bits) }

    @Test("Float32 → BF16 matches torch (round to nearest even, overflow to inf, NaN stays NaN)")
    func bf16MatchesTorch() throws {
        let words = try Self.encodeThroughWriter(Self.inputs, as: .bf16)
        for (word, item) in zip(words, Self.cases) {
            if item.is_nan {
                // torch's scalar path gives 0x7FC0 and its vectorised path 0xFFFF: only NaN-ness is specified.
                #expect(Float(bitPattern: UInt32(word) << 16).isNaN, "\(item.note)")
                #expect(word == 0x7FC0, "\(item.note): canonical quiet NaN, as torch's scalar conversion")
            } else {
                #expect(word == item.bf16_bits, "\(item.note): input 0x\(String(item.input_bits, radix: 16))")
            }
        }
    }

    @Test("Float32 → F16 matches torch (ties to even, subnormals, overflow to inf, NaN stays NaN)")
    func f16MatchesTorch() throws {
        let words = try Self.encodeThroughWriter(Self.inputs, as: .f16)
        for (word, item) in zip(words, Self.cases) {
            if item.is_nan {
                #expect(word & 0x7C00 == 0x7C00 && word & 0x03FF != 0, "\(item.note)")
                #expect(word & 0x8000 == UInt16(item.input_bits >> 16) & 0x8000, "\(item.note): sign kept")
            } else {
                #expect(word == item.f16_bits, "\(item.note): input 0x\(String(item.input_bits, radix: 16))")
            }
        }
    }

    @Test("the rounding table exercises ties, overflow, subnormals and NaN")
    func tableCoverage() {
        let notes = Self.cases.map(\.note).joined(separator: "\n")
        for needle in ["tie", "overflow", "subnormal", "NaN", "inf", "-0"] {
            #expect(notes.contains(needle))
        }
    }

    /// A file holding all 65,536 16-bit patterns as one tensor of `dtype`.
    static func allPatternsFile(_ dtype: DType, in directory: URL) throws -> SafeTensorsFile {
        let url = directory.appendingPathComponent("\(dtype.rawValue).safetensors")
        let patterns = (0...UInt16.max).map { $0.littleEndian }
        let writer = try SafeTensorsWriter(url: url, tensors: [("all", dtype, [patterns.count])])
        try patterns.withUnsafeBytes { try writer.append("all", raw: $0) }
        try writer.finish()
        return try SafeTensorsFile(url: url)
    }

    @Test("F16 → Float32 is exact for all 65,536 patterns (checked against Swift's Float16)")
    func f16DecodeExhaustive() throws {
        let directory = try makeTemporaryDirectory("f16")
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = try Self.allPatternsFile(.f16, in: directory)
        let values = try readAllFloats(file, "all")
        for bits in 0...UInt16.max {
            let value = values[Int(bits)]
            let reference = Float(Float16(bitPattern: bits))
            if reference.isNaN {
                #expect(value.isNaN && value.sign == reference.sign, "0x\(String(bits, radix: 16))")
            } else {
                #expect(value.bitPattern == reference.bitPattern, "0x\(String(bits, radix: 16))")
            }
        }
        // Hand-checked anchors: 2^-24 (smallest subnormal), 65504 (max), -0, inf.
        #expect(values[0x0001] == 0x1p-24)
        #expect(values[0x03FF] == 1023 * 0x1p-24)
        #expect(values[0x7BFF] == 65504)
        #expect(values[0x8000].bitPattern == 0x8000_0000)
        #expect(values[0xFC00] == -.infinity)
    }

    @Test("BF16 → Float32 is the 16-bit shift for all 65,536 patterns")
    func bf16DecodeExhaustive() throws {
        let directory = try makeTemporaryDirectory("bf16")
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = try Self.allPatternsFile(.bf16, in: directory)
        let values = try readAllFloats(file, "all")
        for bits in 0...UInt16.max {
            #expect(values[Int(bits)].bitPattern == UInt32(bits) << 16)
        }
    }

    @Test(
        "F16 and BF16 encoding is the exact inverse of decoding for every non-NaN pattern",
        arguments: [DType.f16, .bf16])
    func roundTripAllPatterns(_ dtype: DType) throws {
        let directory = try makeTemporaryDirectory("roundtrip16")
        defer { try? FileManager.default.removeItem(at: directory) }
        let values = try readAllFloats(try Self.allPatternsFile(dtype, in: directory), "all")
        let words = try Self.encodeThroughWriter(values, as: dtype)
        for bits in 0...UInt16.max where !values[Int(bits)].isNaN {
            #expect(words[Int(bits)] == bits, "0x\(String(bits, radix: 16))")
        }
    }
}
