import Foundation
import HDF5
import TestSupport
import Testing

/// Reads `Tests/Fixtures/hdf5/reference.h5`, written by h5py (`scripts/fixtures/make_hdf5_fixtures.py`). Each
/// expected value below is the formula the script states next to the dataset or attribute.
@Suite("Reading a file written by h5py")
struct H5pyReferenceTests {
    let root: HDF5Group

    init() throws {
        root = try HDF5File.open(at: RepositoryPaths.fixtures.appendingPathComponent("hdf5/reference.h5")).root
    }

    @Test func members() throws {
        #expect(
            try root.memberNames() == [
                "big_endian", "compressed", "empty", "fixed_strings", "float32", "float64_3d", "int16", "int32",
                "int64_2d", "nested", "scalar", "strings", "uint8",
            ])
        #expect(try root.group("nested").memberNames() == ["deeper"])
        #expect(try root.dataset("nested/deeper/leaf").read(Int64.self) == HDF5Array(values: [7], shape: [1]))
    }

    @Test func numericDatasets() throws {
        #expect(
            try root.dataset("float64_3d").read(Double.self)
                == HDF5Array(values: (0..<24).map { Double($0) / 4 }, shape: [2, 3, 4]))
        #expect(
            try root.dataset("float32").read(Float.self)
                == HDF5Array(values: (0..<6).map { Float($0) - 2.5 }, shape: [6]))
        #expect(
            try root.dataset("int64_2d").read(Int64.self)
                == HDF5Array(values: (0..<6).map { Int64($0) - 3 }, shape: [2, 3]))
        #expect(
            try root.dataset("int32").read(Int32.self)
                == HDF5Array(values: (0..<4).map { Int32($0) * 1_000_000 - 1 }, shape: [4]))
        #expect(try root.dataset("uint8").read(UInt8.self) == HDF5Array(values: Array(250...255), shape: [6]))
        #expect(try root.dataset("scalar").read(Double.self) == HDF5Array(values: [3.25], shape: []))
        #expect(try root.dataset("empty").read(Double.self) == HDF5Array(values: [], shape: [0]))
        #expect(
            try root.dataset("big_endian").read(Double.self)
                == HDF5Array(values: (0..<4).map { Double($0) + 0.5 }, shape: [4]))
        let compressed = try root.dataset("compressed")
        #expect(try compressed.read(Double.self) == HDF5Array(values: (0..<1000).map(Double.init), shape: [1000]))
        #expect(try compressed.storageByteCount < 8000)
    }

    @Test func strings() throws {
        #expect(try root.dataset("strings").readStrings() == ["alpha", "λ", "τ-vector", ""])
        #expect(try root.dataset("fixed_strings").readStrings() == ["ab", "cde", ""])
        #expect(try root.dataset("fixed_strings").elementType == .string)
    }

    @Test func unsupportedType() throws {
        let int16 = try root.dataset("int16")
        #expect(try int16.elementType == .unsupported("Int16"))
        #expect(try int16.shape == [3])
        let file = RepositoryPaths.fixtures.appendingPathComponent("hdf5/reference.h5").path
        #expect(
            throws: HDF5Error(file: file, object: "/int16", reason: .typeMismatch(found: "Int16", expected: "Int32"))
        ) {
            try int16.read(Int32.self)
        }
    }

    @Test func attributes() throws {
        #expect(
            try root.attributeNames() == [
                "alphas", "eps", "flag", "half", "ids", "names", "small_int", "title", "version",
            ])
        #expect(try root.attribute("title", as: String.self) == "MetaMerge fixture λ")
        #expect(try root.attribute("version", as: Int64.self) == 2)
        #expect(try root.attribute("eps", as: Double.self) == 1e-6)
        #expect(try root.attribute("half", as: Double.self) == 0.5)
        #expect(try root.attribute("small_int", as: Int64.self) == -7)
        #expect(try root.attribute("alphas", as: [Double].self) == [0, 0.5, 1])
        #expect(try root.attribute("ids", as: [Int64].self) == [1, 2, 3])
        #expect(try root.attribute("names", as: [String].self) == ["q_proj", "τ"])
        #expect(try root.dataset("float64_3d").attribute("units", as: String.self) == "τ units")
        #expect(try root.group("nested").attribute("depth") == .int64(1))

        let file = RepositoryPaths.fixtures.appendingPathComponent("hdf5/reference.h5").path
        #expect(
            throws: HDF5Error(
                file: file, object: "/", attribute: "flag", reason: .typeMismatch(found: "enum", expected: "Int64"))
        ) {
            try root.attribute("flag", as: Int64.self)
        }
        let unsupported = #expect(throws: HDF5Error.self) { try root.attribute("flag") }
        #expect(unsupported?.reason == .unsupported("attributes of type enum are not read by this module"))
    }
}
