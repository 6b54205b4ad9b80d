import Foundation
import Testing
import TestSupport

@testable import SafeTensors

/// `readFloat32` of BF16/F16 ranges large enough to be read in one request and widened in place: every element
/// equals the value its bit pattern encodes (known by hand: BF16 bits b are the Float bits b << 16; F16 bits are
/// checked against Swift's `Float16`), for ranges starting and ending anywhere.
@Suite("Wide BF16/F16 reads")
struct WideReadTests {
    static let count = 3 * StorageReads.directMinimum / 2 + 37  // elements: 1.5× the direct minimum in bytes

    /// A file with one BF16 and one F16 tensor of ``count`` elements whose element i has the bit pattern
    /// `pattern(i)`, after an odd-length header so the data is not aligned.
    static let file: SafeTensorsFile = {
        let bytes = count * 2
        let json = #"{"b":{"dtype":"BF16","shape":[\#(count)],"data_offsets":[0,\#(bytes)]},"#
            + #""h":{"dtype":"F16","shape":[\#(count)],"data_offsets":[\#(bytes),\#(2 * bytes)]}} "#
        var data = Data()
        var length = UInt64(json.utf8.count).littleEndian
        data.append(Data(bytes: &length, count: 8))
        data.append(Data(json.utf8))
        for _ in 0..<2 {
            for i in 0..<count {
                var bits = pattern(i).littleEndian
                data.append(Data(bytes: &bits, count: 2))
            }
        }
        let url = try! makeTemporaryDirectory("wide-read").appendingPathComponent("wide.safetensors")
        try! data.write(to: url)
        return try! SafeTensorsFile(url: url)
    }()

    /// Finite patterns of both formats, varied: sign, exponent 1…30 (F16) / 97…126 (BF16, same bits), mantissa.
    static func pattern(_ i: Int) -> UInt16 {
        let sign = UInt16(i & 1) << 15
        let exponent = UInt16(1 + (i / 2) % 30) << 10
        let mantissa = UInt16((i &* 2_654_435_761) & 0x3FF)
        return sign | exponent | mantissa
    }

    @Test("each element is its bit pattern's value", arguments: [
        0..<count, 1..<count, 0..<(count - 5), 777..<(777 + StorageReads.directMinimum / 2),
    ])
    func widened(range: Range<Int>) throws {
        var floats = [Float](repeating: .nan, count: range.count)
        try floats.withUnsafeMutableBufferPointer { try Self.file.readFloat32("b", elements: range, into: $0) }
        for (k, i) in range.enumerated() {
            #expect(floats[k].bitPattern == UInt32(Self.pattern(i)) << 16, "BF16 element \(i)")
            if floats[k].bitPattern != UInt32(Self.pattern(i)) << 16 { return }
        }
        try floats.withUnsafeMutableBufferPointer { try Self.file.readFloat32("h", elements: range, into: $0) }
        for (k, i) in range.enumerated() {
            let expected = Float(Float16(bitPattern: Self.pattern(i)))
            #expect(floats[k] == expected, "F16 element \(i)")
            if floats[k] != expected { return }
        }
    }
}
