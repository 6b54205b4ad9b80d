import Foundation
import HDF5
import Testing

/// Shapes every element type is written and read back with: scalar, empty, 1-D, 2-D, 3-D, 3-D with a zero extent.
private let shapes: [[Int]] = [[], [0], [5], [2, 3], [2, 3, 4], [3, 0, 2]]

/// Writes `count(shape)` values made by `value(i)` with `shape`, closes the file, reopens it and reads them back.
private func expectRoundTrip<T: HDF5Numeric>(
    shape: [Int], compression: HDF5Compression = .none, sourceLocation: SourceLocation = #_sourceLocation,
    _ value: (Int) -> T
) throws {
    let url = try temporaryHDF5File()
    let values = (0..<elementCount(shape)).map(value)
    try withNewFile(at: url) { file in
        try file.root.createDataset("data", values: values, shape: shape, compression: compression)
    }
    let file = try HDF5File.open(at: url)
    let dataset = try file.root.dataset("data")
    #expect(try dataset.elementType == T.hdf5ElementType, sourceLocation: sourceLocation)
    #expect(try dataset.shape == shape, sourceLocation: sourceLocation)
    #expect(try dataset.read(T.self) == HDF5Array(values: values, shape: shape), sourceLocation: sourceLocation)
}

@Suite("Numeric datasets round trip")
struct NumericRoundTripTests {
    @Test(arguments: shapes) func float64(shape: [Int]) throws {
        try expectRoundTrip(shape: shape) { Double($0) * 0.25 - 1.5 }
    }

    @Test(arguments: shapes) func float32(shape: [Int]) throws {
        try expectRoundTrip(shape: shape) { Float($0) * -0.5 + 0.125 }
    }

    @Test(arguments: shapes) func int64(shape: [Int]) throws {
        try expectRoundTrip(shape: shape) { Int64($0) * 1_000_000_000_007 - 5 }
    }

    @Test(arguments: shapes) func int32(shape: [Int]) throws {
        try expectRoundTrip(shape: shape) { Int32($0) * -100_003 }
    }

    @Test(arguments: shapes) func uint8(shape: [Int]) throws {
        try expectRoundTrip(shape: shape) { UInt8(($0 * 37) % 256) }
    }

    @Test func intIsStoredAsInt64() throws {
        try expectRoundTrip(shape: [4]) { Int($0) - 2 }
        let url = try temporaryHDF5File()
        try withNewFile(at: url) { try $0.root.createDataset("n", values: [Int.min, -1, 0, Int.max]) }
        let dataset = try HDF5File.open(at: url).root.dataset("n")
        #expect(try dataset.read(Int64.self).values == [Int64.min, -1, 0, Int64.max])
    }

    @Test func extremeValuesSurvive() throws {
        let doubles: [Double] = [.infinity, -.infinity, -0.0, .leastNonzeroMagnitude, .greatestFiniteMagnitude, .pi]
        let url = try temporaryHDF5File()
        try withNewFile(at: url) { file in
            try file.root.createDataset("doubles", values: doubles + [.nan])
            try file.root.createDataset("floats", values: [Float.leastNonzeroMagnitude, -.greatestFiniteMagnitude])
            try file.root.createDataset("int64", values: [Int64.min, Int64.max])
            try file.root.createDataset("int32", values: [Int32.min, Int32.max])
            try file.root.createDataset("uint8", values: [UInt8.min, UInt8.max])
        }
        let root = try HDF5File.open(at: url).root
        let readDoubles = try root.dataset("doubles").read(Double.self).values
        #expect(readDoubles.dropLast().map(\.bitPattern) == doubles.map(\.bitPattern))
        #expect(readDoubles.last?.isNaN == true)
        #expect(
            try root.dataset("floats").read(Float.self).values == [.leastNonzeroMagnitude, -.greatestFiniteMagnitude])
        #expect(try root.dataset("int64").read(Int64.self).values == [.min, .max])
        #expect(try root.dataset("int32").read(Int32.self).values == [.min, .max])
        #expect(try root.dataset("uint8").read(UInt8.self).values == [0, 255])
    }

    @Test func createFromArrayAndOverwrite() throws {
        let url = try temporaryHDF5File()
        try withNewFile(at: url) { file in
            let dataset = try file.root.createDataset(
                "m", array: HDF5Array(values: [1.0, 2, 3, 4, 5, 6], shape: [3, 2]))
            try dataset.write([6.0, 5, 4, 3, 2, 1])
        }
        let file = try HDF5File.open(at: url, mode: .readWrite)
        let dataset = try file.root.dataset("m")
        #expect(try dataset.read(Double.self) == HDF5Array(values: [6, 5, 4, 3, 2, 1], shape: [3, 2]))
        try dataset.write([0.5, 0, 0, 0, 0, -0.5])
        #expect(try dataset.read(Double.self).values == [0.5, 0, 0, 0, 0, -0.5])
    }
}

@Suite("gzip compression")
struct CompressionTests {
    @Test func largeCompressibleDatasetShrinksAndReadsBack() throws {
        // 1100 × 1000 Float32 = 4.4 MB: more than one 1 MiB chunk, so the chunk shape is cut down.
        try expectRoundTrip(shape: [1100, 1000], compression: .gzip(level: 6)) { Float($0 % 7) }
        let url = try temporaryHDF5File()
        let values = (0..<100_000).map { Double($0 % 10) }
        try withNewFile(at: url) { file in
            try file.root.createDataset("plain", values: values)
            try file.root.createDataset("packed", values: values, compression: .gzip(level: 4))
        }
        let root = try HDF5File.open(at: url).root
        #expect(try root.dataset("plain").storageByteCount == 800_000)
        #expect(try root.dataset("packed").storageByteCount < 80_000)
        #expect(try root.dataset("packed").read(Double.self).values == values)
    }

    @Test(arguments: [[Int](), [0], [4, 0]]) func scalarAndEmptyDatasetsAreStoredPlain(shape: [Int]) throws {
        try expectRoundTrip(shape: shape, compression: .gzip(level: 9)) { Double($0) }
    }
}

@Suite("String datasets round trip")
struct StringRoundTripTests {
    @Test(arguments: [
        [String](),
        ["alpha", "beta"],
        ["λ", "τ", "θ₀ + Σ λₜ τₜ", "", "mixed ascii and 🧪 emoji"],
    ])
    func strings(_ strings: [String]) throws {
        let url = try temporaryHDF5File()
        try withNewFile(at: url) { try $0.root.createDataset("names", strings: strings) }
        let dataset = try HDF5File.open(at: url).root.dataset("names")
        #expect(try dataset.elementType == .string)
        #expect(try dataset.shape == [strings.count])
        #expect(try dataset.readStrings() == strings)
    }

    @Test func overwriteStrings() throws {
        let url = try temporaryHDF5File()
        try withNewFile(at: url) { file in
            try file.root.createDataset("s", strings: ["a", "b"]).write(strings: ["λ", "τ"])
        }
        #expect(try HDF5File.open(at: url).root.dataset("s").readStrings() == ["λ", "τ"])
    }
}

@Suite("Groups")
struct GroupTests {
    @Test func nestedGroupsAndMembers() throws {
        let url = try temporaryHDF5File()
        try withNewFile(at: url) { file in
            let layers = try file.root.createGroup("model/layers")
            #expect(layers.path == "/model/layers")
            #expect(layers.name == "layers")
            try layers.createGroup("1")
            try layers.createDataset("0/gram", values: [1.0, 0, 0, 1], shape: [2, 2])
            try file.root.createDataset("λ", strings: ["τ"])
            try file.root.group("model").createDataset("/model/norms", values: [Float(1)])  // absolute name
        }
        let root = try HDF5File.open(at: url).root
        #expect(try root.memberNames() == ["model", "λ"])
        #expect(try root.group("model").memberNames() == ["layers", "norms"])
        #expect(try root.group("model/layers").memberNames() == ["0", "1"])
        #expect(try root.group("model/layers/1").memberNames() == [])
        #expect(try root.group("model").group("layers/0").dataset("gram").path == "/model/layers/0/gram")
        #expect(try root.dataset("model/layers/0/gram").read(Double.self).shape == [2, 2])
        #expect(try root.dataset("λ").readStrings() == ["τ"])

        #expect(try root.exists("model/layers/0/gram"))
        #expect(try root.kind(of: "model/layers") == .group)
        #expect(try root.kind(of: "model/layers/0/gram") == .dataset)
        #expect(try root.kind(of: "model/missing") == nil)
        #expect(try !root.exists("model/layers/0/gram/below-a-dataset"))
        #expect(try !root.exists("nothing/here"))
        #expect(try root.dataset("model/norms").exists())
    }

    @Test func rootGroup() throws {
        let url = try temporaryHDF5File()
        try withNewFile(at: url) { (file: HDF5File) throws in
            #expect(file.root.path == "/")
            #expect(try file.root.memberNames() == [])
            #expect(try file.root.exists())
        }
    }
}

@Suite("Files")
struct FileTests {
    @Test func createTruncatesAnExistingFile() throws {
        let url = try temporaryHDF5File()
        try withNewFile(at: url) { try $0.root.createDataset("old", values: [1.0]) }
        try withNewFile(at: url) { try $0.root.createDataset("new", values: [2.0]) }
        #expect(try HDF5File.open(at: url).root.memberNames() == ["new"])
    }

    @Test func readWriteModeAddsToAFile() throws {
        let url = try temporaryHDF5File()
        try withNewFile(at: url) { try $0.root.createDataset("a", values: [1.0]) }
        do {
            let file = try HDF5File.open(at: url, mode: .readWrite)
            #expect(file.mode == .readWrite)
            try file.root.createDataset("b", values: [Int32(2)])
            try file.flush()
        }  // closed by deinit
        let file = try HDF5File.open(at: url)
        #expect(try file.root.memberNames() == ["a", "b"])
        #expect(file.isOpen)
        try file.close()
        #expect(!file.isOpen)
        try file.close()  // a second close does nothing
    }

    @Test func manyTasksAtOnce() async throws {
        let shared = try temporaryHDF5File("shared.h5")
        try withNewFile(at: shared) { try $0.root.createDataset("x", values: (0..<1000).map(Double.init)) }
        let sharedFile = try HDF5File.open(at: shared)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<8 {
                group.addTask {
                    let url = try temporaryHDF5File("task\(task).h5")
                    let values = (0..<500).map { Int64($0 * task) }
                    for round in 0..<5 {
                        try withNewFile(at: url) { file in
                            try file.root.createDataset("g\(round)/v", values: values, shape: [25, 20])
                            try file.root.setAttribute("task", task)
                        }
                        let root = try HDF5File.open(at: url).root
                        #expect(try root.dataset("g\(round)/v").read(Int64.self).values == values)
                        #expect(try root.attribute("task", as: Int.self) == task)
                        #expect(try sharedFile.root.dataset("x").read(Double.self).values.count == 1000)
                        #expect(throws: HDF5Error.self) { try root.dataset("missing") }
                    }
                }
            }
            try await group.waitForAll()
        }
    }
}
