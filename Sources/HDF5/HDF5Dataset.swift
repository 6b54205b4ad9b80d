import CHDF5

/// A dataset in an ``HDF5File``: an n-dimensional array of numbers, or of strings.
///
/// A dataset value is a name, not an open HDF5 object (see ``HDF5File``).
public struct HDF5Dataset: HDF5Object {
    public let file: HDF5File
    public let path: String
    public static var objectKind: HDF5ObjectKind { .dataset }

    init(file: HDF5File, path: String) {
        self.file = file
        self.path = path
    }

    /// The extents, outermost first; `[]` for a scalar.
    public var shape: [Int] {
        get throws {
            try withOpenObject { dataset, site in try site.extent(ofDataset: dataset).shape }
        }
    }

    /// The stored element type.
    public var elementType: HDF5ElementType {
        get throws {
            try withOpenObject { dataset, site in
                let type = try site.handle(H5Dget_type(dataset), .datatype, "H5Dget_type")
                return HDF5ElementType(describing: type.raw)
            }
        }
    }

    /// The bytes the data takes in the file (less than the values' size when compression helps; 0 before any
    /// data is written).
    public var storageByteCount: Int {
        get throws {
            try withOpenObject { dataset, _ in Int(clamping: H5Dget_storage_size(dataset)) }
        }
    }

    /// All values with the dataset's shape, in row-major order.
    ///
    /// The stored type must be `type`'s exactly (``HDF5Numeric/hdf5ElementType``; byte order aside): there is no
    /// silent conversion, so a `Float32` dataset is read with `Float.self`, and ``elementType`` says which to use.
    ///
    /// - Throws: ``HDF5Error`` with ``HDF5Error/Reason/typeMismatch(found:expected:)``, e.g. "dataset '/a' has
    ///   type Int64, expected Float64", or ``HDF5Error/Reason/missingObject(_:)`` if the dataset was removed.
    public func read<T: HDF5Numeric>(_ type: T.Type = T.self) throws -> HDF5Array<T> {
        try withOpenObject { dataset, site in
            let memoryType = try site.requireType(of: dataset, T.self)
            let extent = try site.extent(ofDataset: dataset)
            try site.checkReadable(extent, bytesPerElement: MemoryLayout<T>.stride)
            let values = try [T](unsafeUninitializedCapacity: extent.count) { buffer, initialized in
                if extent.count > 0 {
                    do {
                        try site.check(
                            H5Dread(
                                dataset, memoryType, Constants.allOfSpace, Constants.allOfSpace,
                                Constants.defaultProperties, buffer.baseAddress), "H5Dread")
                    } catch {
                        try site.explainFailedRead(of: dataset)
                        throw error
                    }
                }
                initialized = extent.count
            }
            return HDF5Array(values: values, shape: extent.shape)
        }
    }

    /// All strings, flattened in row-major order (the shape is ``shape``).
    ///
    /// Reads variable-length strings (what this module and `h5py.string_dtype()` write) and fixed-length ones
    /// (NumPy `S` arrays; cut at the first NUL). Invalid UTF-8 is replaced by U+FFFD.
    ///
    /// - Throws: ``HDF5Error`` with ``HDF5Error/Reason/typeMismatch(found:expected:)`` for a numeric dataset.
    public func readStrings() throws -> [String] {
        try withOpenObject { dataset, site in
            let type = try site.handle(H5Dget_type(dataset), .datatype, "H5Dget_type")
            let found = HDF5ElementType(describing: type.raw)
            guard found == .string else {
                throw site.error(.typeMismatch(found: found.description, expected: HDF5ElementType.string.description))
            }
            let space = try site.handle(H5Dget_space(dataset), .dataspace, "H5Dget_space")
            let extent = try site.extent(of: space.raw)
            try site.checkReadable(
                extent, bytesPerElement: max(H5Tget_size(type.raw), MemoryLayout<UnsafeRawPointer>.size))
            do {
                return try site.readStrings(type: type.raw, space: space.raw, count: extent.count, call: "H5Dread") {
                    H5Dread(dataset, $0, Constants.allOfSpace, Constants.allOfSpace, Constants.defaultProperties, $1)
                }
            } catch {
                try site.explainFailedRead(of: dataset)
                throw error
            }
        }
    }

    /// Replaces all values; `values` must have the dataset's element type and element count (row-major order).
    ///
    /// - Throws: ``HDF5Error`` with ``HDF5Error/Reason/typeMismatch(found:expected:)`` or
    ///   ``HDF5Error/Reason/invalidArgument(_:)`` for a wrong count.
    public func write<T: HDF5Numeric>(_ values: [T]) throws {
        try withOpenObject(writable: true) { dataset, site in
            let memoryType = try site.requireType(of: dataset, T.self)
            let extent = try site.requireCount(of: dataset, values.count)
            guard extent.count > 0 else { return }
            try values.withUnsafeBytes { bytes in
                try site.check(
                    H5Dwrite(
                        dataset, memoryType, Constants.allOfSpace, Constants.allOfSpace,
                        Constants.defaultProperties, bytes.baseAddress), "H5Dwrite")
            }
        }
    }

    /// Replaces all strings of a string dataset; `strings` must have the dataset's element count.
    public func write(strings: [String]) throws {
        try withOpenObject(writable: true) { dataset, site in
            let stored = try site.handle(H5Dget_type(dataset), .datatype, "H5Dget_type")
            let found = HDF5ElementType(describing: stored.raw)
            guard found == .string else {
                throw site.error(.typeMismatch(found: found.description, expected: HDF5ElementType.string.description))
            }
            let extent = try site.requireCount(of: dataset, strings.count)
            guard extent.count > 0 else { return }
            try site.withCStrings(strings) { pointers in
                let type = try site.makeVariableStringType()
                try pointers.withUnsafeBytes { bytes in
                    try site.check(
                        H5Dwrite(
                            dataset, type.raw, Constants.allOfSpace, Constants.allOfSpace,
                            Constants.defaultProperties, bytes.baseAddress), "H5Dwrite")
                }
            }
        }
    }
}

extension Site {
    /// Checks that the dataset stores `T`'s element type; returns the native memory type of `T`.
    fileprivate func requireType<T: HDF5Numeric>(of dataset: hid_t, _: T.Type) throws -> hid_t {
        let expected = T.hdf5ElementType
        let memoryType = try nativeType(of: T.self)
        let type = try handle(H5Dget_type(dataset), .datatype, "H5Dget_type")
        let found = HDF5ElementType(describing: type.raw)
        guard found == expected else {
            throw error(.typeMismatch(found: found.description, expected: expected.description))
        }
        return memoryType
    }

    /// The most bytes one read allocates: far beyond any report, far below what a damaged file's declared extent
    /// (e.g. 2³⁸ strings) would make the process ask for before the library fails.
    static let maximumReadBytes = 1 << 32

    /// Refuses a read whose buffer (`extent.count` × `bytesPerElement`) would exceed ``maximumReadBytes``.
    /// After a failed read: names a filter of the dataset this HDF5 library does not have (h5py's `lzf`, a plugin
    /// such as Blosc), whose absence the library reports as a failure to open its plugin folder. (An optional filter
    /// may be missing harmlessly, when the writer skipped it too, so this is asked only once a read failed.)
    fileprivate func explainFailedRead(of dataset: hid_t) throws {
        let plist = try handle(H5Dget_create_plist(dataset), .propertyList, "H5Dget_create_plist")
        let count = H5Pget_nfilters(plist.raw)
        guard count > 0 else { return }
        for index in 0..<UInt32(count) {
            var flags: UInt32 = 0
            var valueCount = 0
            var name = [CChar](repeating: 0, count: 64)
            var config: UInt32 = 0
            let id = H5Pget_filter2(plist.raw, index, &flags, &valueCount, nil, name.count, &name, &config)
            guard id >= 0 else { continue }
            if H5Zfilter_avail(id) <= 0 {
                let text = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                throw error(
                    .unsupported(
                        "stored through HDF5 filter \(id)\(text.isEmpty ? "" : " (\(text))"), which this HDF5 "
                            + "library does not have; re-save the file without it (h5py: compression=\"gzip\" or none)"
                    ))
            }
        }
    }

    fileprivate func checkReadable(_ extent: Extent, bytesPerElement: Int) throws {
        let (bytes, overflow) = extent.count.multipliedReportingOverflow(by: max(bytesPerElement, 1))
        guard !overflow, bytes <= Self.maximumReadBytes else {
            throw error(
                .unsupported(
                    "the dataset declares shape \(extent.shape) (\(extent.count) elements of \(bytesPerElement) "
                        + "bytes), more than "
                        + "the \(Self.maximumReadBytes >> 30) GiB a read may allocate; the file is damaged"))
        }
    }

    fileprivate func requireCount(of dataset: hid_t, _ count: Int) throws -> Extent {
        let extent = try extent(ofDataset: dataset)
        guard extent.count == count else {
            throw error(
                .invalidArgument("\(count) values for a dataset of shape \(extent.shape) (\(extent.count) elements)"))
        }
        return extent
    }
}
