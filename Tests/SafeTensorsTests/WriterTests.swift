import Foundation
import SafeTensors
import TestSupport
import Testing

@Suite("Writer")
struct WriterTests {
    // MARK: Byte identity with the reference writer

    /// Reference files written by `safetensors.torch.save_file(…, metadata={"format": "pt"})`.
    static let torchFiles = ["all_dtypes.safetensors", "scalars_and_empty.safetensors", "byte_identical.safetensors"]

    /// Writes the tensors of reference file `name` (from expected.json) with `SafeTensorsWriter`; F32, F16 and BF16
    /// tensors go through `append(_:float32:)` when `viaFloat32` (F64 values need not be Float32 values, so F64
    /// goes raw), everything else as raw bytes.
    static func rewrite(
        _ name: String, to url: URL, viaFloat32: Bool, metadata: [String: String] = [:]
    ) throws
        -> SafeTensorsWriter
    {
        let expected = try #require(Fixtures.expected.files[name])
        let reference = try SafeTensorsFile(url: Fixtures.referenceDirectory.appendingPathComponent(name))
        // Declare in a scrambled order: the writer must find the reference order itself.
        let declared = expected.tensors.keys.sorted().reversed().map { key in
            let t = expected.tensors[key]!
            return (name: key, dtype: DType(rawValue: t.dtype)!, shape: t.shape)
        }
        let writer = try SafeTensorsWriter(url: url, tensors: declared, metadata: metadata)
        for info in writer.tensors {
            let bytes = Fixtures.bytes(hex: expected.tensors[info.name]!.hex)
            if viaFloat32 && info.dtype.isFloatingPoint && info.dtype != .f64 {
                let values = try readAllFloats(reference, info.name)
                // Feed in uneven chunks to exercise chunking.
                var start = 0
                var step = 1
                while start < values.count {
                    let end = min(values.count, start + step)
                    try values[start..<end].withUnsafeBufferPointer { try writer.append(info.name, float32: $0) }
                    start = end
                    step = step * 3 + 1
                }
            } else {
                try bytes.withUnsafeBytes { try writer.append(info.name, raw: $0) }
            }
        }
        try writer.finish()
        return writer
    }

    @Test("raw appends give a file byte-identical to safetensors.torch.save_file", arguments: torchFiles)
    func byteIdenticalRaw(_ name: String) throws {
        let directory = try makeTemporaryDirectory("identical")
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent(name)
        _ = try Self.rewrite(name, to: url, viaFloat32: false)
        let ours = try Data(contentsOf: url)
        let reference = try Data(contentsOf: Fixtures.referenceDirectory.appendingPathComponent(name))
        #expect(ours == reference, "\(name): \(ours.count) vs \(reference.count) bytes")
    }

    @Test("Float32 appends (converted to each tensor's dtype) give the same bytes", arguments: torchFiles)
    func byteIdenticalViaFloat32(_ name: String) throws {
        let directory = try makeTemporaryDirectory("identical32")
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent(name)
        _ = try Self.rewrite(name, to: url, viaFloat32: true)
        let ours = [UInt8](try Data(contentsOf: url))
        let reference = [UInt8](try Data(contentsOf: Fixtures.referenceDirectory.appendingPathComponent(name)))
        #expect(ours.count == reference.count)
        // NaN encodings may differ from the stored NaN payloads (the reference file holds several); compare the
        // bytes of everything else exactly and NaN-ness where the reference holds a NaN.
        let file = try SafeTensorsFile(url: url)
        let original = try SafeTensorsFile(url: Fixtures.referenceDirectory.appendingPathComponent(name))
        for info in original.tensors {
            let a = try original.withRawBytes(info.name) { Array($0) }
            let b = try file.withRawBytes(info.name) { Array($0) }
            if info.dtype.isFloatingPoint {
                let x = try readAllFloats(original, info.name)
                let y = try readAllFloats(file, info.name)
                let same = zip(x, y).allSatisfy { $0.isNaN ? $1.isNaN : $0.bitPattern == $1.bitPattern }
                #expect(same, "\(info.name)")
                if !x.contains(where: \.isNaN) { #expect(a == b, "\(info.name)") }
            } else {
                #expect(a == b, "\(info.name)")
            }
        }
        // The header (and so every offset) is identical.
        let headerLength = Int(reference[0]) | Int(reference[1]) << 8 | Int(reference[2]) << 16
        #expect(ours[0..<(8 + headerLength)] == reference[0..<(8 + headerLength)])
    }

    @Test("the data order is the reference writer's: dtype rank descending, then name bytes")
    func dataOrder() throws {
        let expected = try #require(Fixtures.expected.files["byte_identical.safetensors"]?.data_order)
        let directory = try makeTemporaryDirectory("order")
        defer { try? FileManager.default.removeItem(at: directory) }
        let writer = try Self.rewrite(
            "byte_identical.safetensors", to: directory.appendingPathComponent("o.safetensors"), viaFloat32: false)
        #expect(writer.tensors.map(\.name) == expected)
    }

    // MARK: Round trips

    /// Values exactly representable in `dtype`, with the edge cases that matter: ±0, ±inf, NaN, subnormals,
    /// extremes.
    static func representable(_ dtype: DType) -> [Float] {
        var values: [Float] = [0, -0.0, 1, -1, 0.5, 3, -2.75, .infinity, -.infinity, .nan]
        switch dtype {
        case .f16: values += [65504, -65504, 0x1p-24, -0x1p-24, 1023 * 0x1p-24, 0x1p-14, 1 + 0x1p-10]
        case .bf16: values += [Float(bitPattern: 0x7F7F_0000), Float(bitPattern: 0x0001_0000), 0x1p-126, 1 + 0x1p-7]
        default: values += [.greatestFiniteMagnitude, -.leastNonzeroMagnitude, .leastNormalMagnitude, 0.1, 1 / 3]
        }
        return values + (0..<100).map { Float($0) * 0.25 - 12 }
    }

    @Test("Float32 values written to F64/F32/F16/BF16 read back unchanged", arguments: [DType.f64, .f32, .f16, .bf16])
    func roundTrip(_ dtype: DType) throws {
        let directory = try makeTemporaryDirectory("roundtrip")
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("r.safetensors")
        let values = Self.representable(dtype)
        let writer = try SafeTensorsWriter(
            url: url,
            tensors: [
                ("values", dtype, [values.count]), ("scalar", dtype, []), ("empty", dtype, [0, 5]),
                ("matrix", dtype, [3, 5, 7]),
            ])
        let matrix = (0..<105).map { Float($0) - 52 }
        for info in writer.tensors {
            switch info.name {
            case "values": try values.withUnsafeBufferPointer { try writer.append("values", float32: $0) }
            case "scalar": try [Float(-4.5)].withUnsafeBufferPointer { try writer.append("scalar", float32: $0) }
            case "matrix": try matrix.withUnsafeBufferPointer { try writer.append("matrix", float32: $0) }
            default: break  // zero-size: nothing to append
            }
        }
        try writer.finish()

        let file = try SafeTensorsFile(url: url)
        #expect(file.metadata == ["format": "pt"])
        let back = try readAllFloats(file, "values")
        #expect(back.count == values.count)
        for (a, b) in zip(values, back) {
            #expect(a.isNaN ? b.isNaN : a.bitPattern == b.bitPattern, "\(a) → \(b)")
        }
        #expect(try readAllFloats(file, "scalar") == [-4.5])
        #expect(try readAllFloats(file, "empty") == [])
        #expect(try readAllFloats(file, "matrix") == matrix)
        #expect(file.info("matrix")?.shape == [3, 5, 7])
        // Header padded to a multiple of 8, so every tensor's data is 8-byte aligned in the file.
        let data = try Data(contentsOf: url)
        let headerLength = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        #expect(headerLength % 8 == 0)
        #expect(data[8 + headerLength - 1] == UInt8(ascii: " ") || data[8 + headerLength - 1] == UInt8(ascii: "}"))
    }

    @Test("integer, BOOL and FP8 tensors are copied byte for byte")
    func rawDtypes() throws {
        let directory = try makeTemporaryDirectory("raw")
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("raw.safetensors")
        let reference = try SafeTensorsFile(
            url: Fixtures.referenceDirectory.appendingPathComponent("all_dtypes.safetensors"))
        let copied = reference.tensors.filter { !$0.dtype.isFloatingPoint }
        let writer = try SafeTensorsWriter(url: url, tensors: copied.map { ($0.name, $0.dtype, $0.shape) })
        for info in writer.tensors {
            try reference.withRawBytes(info.name) { try writer.append(info.name, raw: $0) }
        }
        try writer.finish()
        let file = try SafeTensorsFile(url: url)
        for info in copied {
            #expect(try file.withRawBytes(info.name, Array.init) == reference.withRawBytes(info.name, Array.init))
            #expect(file.info(info.name)?.dtype == info.dtype)
        }
    }

    @Test("caller metadata is merged with format=pt; a caller's format wins")
    func metadata() throws {
        let directory = try makeTemporaryDirectory("meta")
        defer { try? FileManager.default.removeItem(at: directory) }
        let a = directory.appendingPathComponent("a.safetensors")
        let w1 = try SafeTensorsWriter(url: a, tensors: [], metadata: ["b": "two", "a": "ünï \"q\"\n"])
        try w1.finish()
        #expect(try SafeTensorsFile(url: a).metadata == ["format": "pt", "b": "two", "a": "ünï \"q\"\n"])
        let b = directory.appendingPathComponent("b.safetensors")
        let w2 = try SafeTensorsWriter(url: b, tensors: [], metadata: ["format": "mlx"])
        try w2.finish()
        #expect(try SafeTensorsFile(url: b).metadata == ["format": "mlx"])
        #expect(w2.metadata == ["format": "mlx"])
    }

    // MARK: Misuse

    static let twoTensors: [(name: String, dtype: DType, shape: [Int])] = [("a", .f32, [2]), ("b", .f32, [3])]

    /// Runs `misuse` on a fresh writer for `twoTensors`; returns the error and whether the file still exists.
    static func misuse(_ body: (SafeTensorsWriter) throws -> Void) throws -> (SafeTensorsError?, Bool) {
        let directory = try makeTemporaryDirectory("misuse")
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("m.safetensors")
        let writer = try SafeTensorsWriter(url: url, tensors: twoTensors)
        let error = safeTensorsError { try body(writer) }
        return (error, FileManager.default.fileExists(atPath: url.path))
    }

    static let two: [Float] = [1, 2]
    static let three: [Float] = [1, 2, 3]

    @Test("appending out of header order throws unexpectedTensor and removes the file")
    func outOfOrder() throws {
        let (error, exists) = try Self.misuse { w in
            try Self.three.withUnsafeBufferPointer { try w.append("b", float32: $0) }
        }
        #expect(error?.kind == .unexpectedTensor)
        #expect(error?.tensor == "b")
        #expect(error?.description.contains("'a'") == true)
        #expect(!exists)
    }

    @Test("more bytes than the shape holds throws tooMuchData")
    func tooMuch() throws {
        let (error, exists) = try Self.misuse { w in
            try Self.three.withUnsafeBufferPointer { try w.append("a", float32: $0) }
        }
        #expect(error?.kind == .tooMuchData)
        #expect(!exists)
        let (again, _) = try Self.misuse { w in
            try Self.two.withUnsafeBufferPointer { try w.append("a", float32: $0) }
            try Self.three.withUnsafeBufferPointer { try w.append("b", float32: $0) }
            try Self.two.withUnsafeBufferPointer { try w.append("a", float32: $0) }
        }
        #expect(again?.kind == .tooMuchData)
        #expect(again?.tensor == "a")
    }

    @Test("finish() before every tensor is complete throws incompleteData and removes the file")
    func finishEarly() throws {
        let (error, exists) = try Self.misuse { w in
            try Self.two.withUnsafeBufferPointer { try w.append("a", float32: $0) }
            try [Float(1)].withUnsafeBufferPointer { try w.append("b", float32: $0) }
            try w.finish()
        }
        #expect(error?.kind == .incompleteData)
        #expect(error?.tensor == "b")
        #expect(!exists)
    }

    @Test("a finished or failed writer refuses further calls")
    func closed() throws {
        let (afterFinish, exists) = try Self.misuse { w in
            try Self.two.withUnsafeBufferPointer { try w.append("a", float32: $0) }
            try Self.three.withUnsafeBufferPointer { try w.append("b", float32: $0) }
            try w.finish()
            try w.finish()
        }
        #expect(afterFinish?.kind == .writerClosed)
        #expect(exists)  // a finished file stays
        let (afterFailure, _) = try Self.misuse { w in
            _ = safeTensorsError { try w.finish() }
            try Self.two.withUnsafeBufferPointer { try w.append("a", float32: $0) }
        }
        #expect(afterFailure?.kind == .writerClosed)
    }

    @Test("unknown names and Float32 data for non-floating dtypes are refused")
    func wrongTarget() throws {
        let (unknown, _) = try Self.misuse { w in
            try Self.two.withUnsafeBufferPointer { try w.append("zzz", float32: $0) }
        }
        #expect(unknown?.kind == .tensorNotFound)
        let directory = try makeTemporaryDirectory("int")
        defer { try? FileManager.default.removeItem(at: directory) }
        let writer = try SafeTensorsWriter(
            url: directory.appendingPathComponent("i.safetensors"), tensors: [("i", .i32, [2])])
        let error = safeTensorsError { try Self.two.withUnsafeBufferPointer { try writer.append("i", float32: $0) } }
        #expect(error?.kind == .notFloatingPoint)
        #expect(error?.description.contains("I32") == true)
    }

    @Test(
        "invalid tensor lists are refused before a file is created",
        arguments: [
            [("a", DType.f32, [2]), ("a", DType.f16, [2])],
            [("__metadata__", DType.f32, [1])],
            [("neg", DType.f32, [2, -1])],
            [("huge", DType.f64, [1 << 40, 1 << 40])],
            [("nibbles", DType.f4, [3])],
        ] as [[(String, DType, [Int])]])
    func invalidList(_ tensors: [(String, DType, [Int])]) throws {
        let directory = try makeTemporaryDirectory("list")
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("l.safetensors")
        let error = safeTensorsError {
            _ = try SafeTensorsWriter(url: url, tensors: tensors.map { (name: $0.0, dtype: $0.1, shape: $0.2) })
        }
        #expect(error?.kind == .invalidTensorList)
        #expect(!FileManager.default.fileExists(atPath: url.path))
    }

    @Test("an uncreatable path throws writeFailed")
    func uncreatable() throws {
        let url = URL(fileURLWithPath: "/nonexistent-directory-\(UUID().uuidString)/x.safetensors")
        #expect(safeTensorsError { _ = try SafeTensorsWriter(url: url, tensors: []) }?.kind == .writeFailed)
    }

    @Test("a writer released without finish() removes its partial file")
    func abandoned() throws {
        let directory = try makeTemporaryDirectory("abandon")
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("p.safetensors")
        do {
            let writer = try SafeTensorsWriter(url: url, tensors: Self.twoTensors)
            try Self.two.withUnsafeBufferPointer { try writer.append("a", float32: $0) }
            #expect(FileManager.default.fileExists(atPath: url.path))
        }
        #expect(!FileManager.default.fileExists(atPath: url.path))
    }

    @Test("writing over a file that is open for reading replaces it without disturbing the reader")
    func replaceMappedFile() throws {
        let directory = try makeTemporaryDirectory("replace")
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("r.safetensors")
        let first = try SafeTensorsWriter(url: url, tensors: [("a", .f32, [2])])
        try Self.two.withUnsafeBufferPointer { try first.append("a", float32: $0) }
        try first.finish()
        let reader = try SafeTensorsFile(url: url)
        let second = try SafeTensorsWriter(url: url, tensors: [("b", .f16, [3])])
        try Self.three.withUnsafeBufferPointer { try second.append("b", float32: $0) }
        try second.finish()
        #expect(try readAllFloats(reader, "a") == [1, 2])
        #expect(try readAllFloats(try SafeTensorsFile(url: url), "b") == [1, 2, 3])
    }

    @Test("zero-size tensors need no append, and empty appends are accepted")
    func zeroSize() throws {
        let directory = try makeTemporaryDirectory("zero")
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("z.safetensors")
        let writer = try SafeTensorsWriter(
            url: url, tensors: [("e1", .f32, [0]), ("a", .f32, [2]), ("e2", .f32, [4, 0])])
        #expect(writer.tensors.map(\.name) == ["a", "e1", "e2"])
        try [Float]().withUnsafeBufferPointer { try writer.append("a", float32: $0) }
        try Self.two.withUnsafeBufferPointer { try writer.append("a", float32: $0) }
        try [Float]().withUnsafeBufferPointer { try writer.append("e2", float32: $0) }
        try writer.finish()
        let file = try SafeTensorsFile(url: url)
        #expect(file.tensors.map(\.name) == ["a", "e1", "e2"])
        #expect(try readAllFloats(file, "a") == [1, 2])
    }
}
