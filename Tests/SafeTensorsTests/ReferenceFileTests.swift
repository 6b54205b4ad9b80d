import Foundation
import SafeTensors
import Testing

/// Files written by `safetensors.torch.save_file` / `safetensors.numpy.save_file` read back to what the reference
/// reader (and torch's conversions) report.
@Suite("Reading reference files")
struct ReferenceFileTests {
    @Test("each tensor's entry and raw bytes match safetensors", arguments: Fixtures.referenceTensors)
    func entryAndBytes(_ reference: Fixtures.ReferenceTensor) throws {
        let file = try SafeTensorsFile(url: reference.url)
        let expected = reference.expected
        let info = try #require(file.info(reference.name))
        #expect(info.name == reference.name)
        #expect(info.dtype.rawValue == expected.dtype)
        #expect(info.shape == expected.shape)
        #expect(info.dataOffsets == expected.data_offsets[0]..<expected.data_offsets[1])
        #expect(info.byteCount == expected.data_offsets[1] - expected.data_offsets[0])
        #expect(info.elementCount == expected.shape.reduce(1, *))
        let bytes = try file.withRawBytes(reference.name) { Array($0) }
        #expect(bytes == Fixtures.bytes(hex: expected.hex))
    }

    @Test(
        "floating tensors convert to torch's Float32 values, bit for bit",
        arguments: Fixtures.referenceTensors.filter { $0.expected.float32_bits != nil })
    func float32Values(_ reference: Fixtures.ReferenceTensor) throws {
        let file = try SafeTensorsFile(url: reference.url)
        let expected = try #require(reference.expected.float32_bits)
        let values = try readAllFloats(file, reference.name)
        #expect(values.count == expected.count)
        for (index, (value, bits)) in zip(values, expected).enumerated() {
            let want = Float(bitPattern: bits)
            if want.isNaN {
                // torch and this reader may quieten NaN payloads differently; NaN must stay NaN.
                #expect(value.isNaN, "element \(index)")
            } else {
                #expect(value.bitPattern == bits, "element \(index): got \(value), torch gives \(want)")
            }
        }
    }

    @Test(
        "a sub-range of elements converts to the same values",
        arguments: Fixtures.referenceTensors.filter {
            $0.expected.float32_bits != nil && $0.expected.shape.reduce(1, *) >= 3
        })
    func float32Range(_ reference: Fixtures.ReferenceTensor) throws {
        let file = try SafeTensorsFile(url: reference.url)
        let expected = try #require(reference.expected.float32_bits)
        let range = 1..<(expected.count - 1)
        var values = [Float](repeating: 0, count: range.count)
        try values.withUnsafeMutableBufferPointer { try file.readFloat32(reference.name, elements: range, into: $0) }
        for (value, bits) in zip(values, expected[range]) where !Float(bitPattern: bits).isNaN {
            #expect(value.bitPattern == bits)
        }
    }

    @Test("metadata, tensor list and data order match safetensors", arguments: Fixtures.referenceFiles)
    func fileLevel(_ name: String) throws {
        let file = try SafeTensorsFile(url: Fixtures.referenceDirectory.appendingPathComponent(name))
        let expected = try #require(Fixtures.expected.files[name])
        #expect(file.metadata == expected.metadata)
        #expect(Set(file.tensors.map(\.name)) == Set(expected.tensors.keys))
        #expect(file.tensors.count == expected.tensors.count)
        // `tensors` is in data-offset order, and tiles the data section.
        var cursor = 0
        for info in file.tensors {
            #expect(info.dataOffsets.lowerBound == cursor)
            cursor = info.dataOffsets.upperBound
        }
        let size = try FileManager.default.attributesOfItem(atPath: file.url.path)[.size] as! Int
        #expect(cursor == size - 8 - expected.header_length)
        #expect(file.info("no such tensor") == nil)
    }
}
