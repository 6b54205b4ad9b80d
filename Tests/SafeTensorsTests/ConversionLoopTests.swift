import SafeTensors
import Testing

/// The sixteen-lane conversion loops (C, one clone per x86-64 level) against the scalar conversions, which
/// ConversionTests checks against torch: every lane must give the scalar's bits, over a spread of all Float32 bit
/// patterns (every 65 537th, so every exponent and both signs) plus each BF16/F16 rounding boundary and its
/// neighbours, at an odd count (the last n mod 16 take the scalar path) and an odd byte offset.
@Suite("Float conversion loops equal the scalar conversions lane for lane")
struct ConversionLoopTests {
    static let inputs: [UInt32] = {
        var bits = Array(stride(from: UInt32(0), to: UInt32.max - 65537, by: 65537))
        // BF16 ties and their neighbours (low half 0x7FFF, 0x8000, 0x8001), F16 boundaries (65504, 65520,
        // 2⁻¹⁴, 2⁻²⁴ and halfway points) ± one ulp, infinities and NaNs with payloads.
        for high in stride(from: UInt32(0), through: 0xFFFF, by: 97) {
            for low: UInt32 in [0x7FFF, 0x8000, 0x8001, 0x0000, 0xFFFF] { bits.append(high << 16 | low) }
        }
        for boundary: Float in [65504, 65520, 0x1p-14, 0x1p-24, 0x1p-25, 0x1.8p-24, 0x1.002p0, .infinity] {
            for delta: Int64 in -2...2 {
                let b = UInt32(truncatingIfNeeded: Int64(boundary.bitPattern) + delta)
                bits += [b, b | 0x8000_0000]
            }
        }
        bits += [0x7F80_0001, 0xFFC0_0000, 0x7FFF_FFFF, 0xFF80_1234]
        return bits.count % 16 == 0 ? bits + [0x3F80_0000] : bits
    }()

    @Test(arguments: [DType.bf16, .f16])
    func encodeEqualsScalar(_ dtype: DType) {
        let floats = Self.inputs.map { Float(bitPattern: $0) }
        let bytes = UnsafeMutableRawPointer.allocate(byteCount: 2 * floats.count + 1, alignment: 16)
        defer { bytes.deallocate() }
        floats.withUnsafeBufferPointer {
            FloatConversion.encode(dtype, from: $0.baseAddress!, count: $0.count, into: bytes + 1)
        }
        var mismatches = 0
        for (i, value) in floats.enumerated() {
            let word = bytes.loadUnaligned(fromByteOffset: 1 + 2 * i, as: UInt16.self)
            let expected = dtype == .bf16 ? FloatConversion.bf16Bits(from: value) : FloatConversion.f16Bits(from: value)
            if word != expected {
                mismatches += 1
                if mismatches <= 5 { Issue.record("0x\(String(value.bitPattern, radix: 16)): \(word) ≠ \(expected)") }
            }
        }
        #expect(mismatches == 0)
    }

    @Test func bf16DecodeEqualsScalar() {
        let count = 65536 + 5
        let bytes = UnsafeMutableRawPointer.allocate(byteCount: 2 * count + 1, alignment: 16)
        defer { bytes.deallocate() }
        // Every pattern (40503 is odd, so i · 40503 mod 2¹⁶ runs through all of them), then five more.
        for i in 0..<count {
            bytes.storeBytes(of: UInt16(truncatingIfNeeded: i &* 40503), toByteOffset: 1 + 2 * i, as: UInt16.self)
        }
        var floats = [Float](repeating: 0, count: count)
        floats.withUnsafeMutableBufferPointer {
            FloatConversion.decode(.bf16, from: UnsafeRawPointer(bytes + 1), count: count, into: $0.baseAddress!)
        }
        let mismatches = (0..<count).filter { i in
            let bits = bytes.loadUnaligned(fromByteOffset: 1 + 2 * i, as: UInt16.self)
            return floats[i].bitPattern != FloatConversion.float(fromBF16: bits).bitPattern
        }
        #expect(mismatches.isEmpty)
    }
}
