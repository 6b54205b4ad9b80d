/// The values of a numeric dataset with its shape.
///
/// `values` are in row-major (C) order, as h5py and NumPy lay them out: the last index varies fastest. A scalar
/// (rank-0) dataset has `shape == []` and one value; a dataset with a zero extent has no values.
public struct HDF5Array<Element: HDF5Numeric>: Sendable, Equatable {
    public var values: [Element]
    public var shape: [Int]

    public init(values: [Element], shape: [Int]) {
        self.values = values
        self.shape = shape
    }
}
