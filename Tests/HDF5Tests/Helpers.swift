import Foundation
import HDF5
import TestSupport

/// A path for a new HDF5 file in a fresh temporary directory of its own.
func temporaryHDF5File(_ name: String = "test.h5") throws -> URL {
    try makeTemporaryDirectory("hdf5").appendingPathComponent(name)
}

/// Creates a file, lets `body` fill it, and closes it (so the data is on disk for the reader that follows).
func withNewFile(at url: URL, _ body: (HDF5File) throws -> Void) throws {
    let file = try HDF5File.create(at: url)
    try body(file)
    try file.close()
}

/// The row-major element count of `shape` (1 for a scalar).
func elementCount(_ shape: [Int]) -> Int { shape.reduce(1, *) }
