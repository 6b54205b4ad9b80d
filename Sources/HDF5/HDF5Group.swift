import CHDF5
import Foundation

/// A group in an ``HDF5File``: a folder of datasets and other groups.
///
/// Names passed to a group's methods are relative to it and may have several components (`"layers/0/gram"`); a
/// leading `/` makes a name absolute. A group value is a name, not an open HDF5 object (see ``HDF5File``).
public struct HDF5Group: HDF5Object {
    public let file: HDF5File
    public let path: String
    public static var objectKind: HDF5ObjectKind { .group }

    init(file: HDF5File, path: String) {
        self.file = file
        self.path = path
    }

    // MARK: Navigation

    /// Creates the group `name`, and any missing groups on the way to it.
    ///
    /// - Throws: ``HDF5Error`` with ``HDF5Error/Reason/alreadyExists`` when `name` exists (of any kind), or
    ///   ``HDF5Error/Reason/wrongObjectKind(found:expected:)`` when a component on the way is a dataset.
    @discardableResult
    public func createGroup(_ name: String) throws -> HDF5Group {
        let target = try resolve(name)
        try file.withWritableIdentifier(object: target) { identifier, site in
            try site.requireCreatable(fileID: identifier, path: target)
            let links = try site.makeLinkCreationProperties()
            _ = try site.handle(
                H5Gcreate2(identifier, target, links.raw, Constants.defaultProperties, Constants.defaultProperties),
                .group, "H5Gcreate2")
        }
        return HDF5Group(file: file, path: target)
    }

    /// The existing group `name`.
    ///
    /// - Throws: ``HDF5Error`` with ``HDF5Error/Reason/missingObject(_:)`` naming the first missing component, or
    ///   ``HDF5Error/Reason/wrongObjectKind(found:expected:)``.
    public func group(_ name: String) throws -> HDF5Group {
        let target = try resolve(name)
        try file.withIdentifier(object: target) { identifier, site in
            try site.requireObject(fileID: identifier, path: target, kind: .group)
        }
        return HDF5Group(file: file, path: target)
    }

    /// The existing dataset `name`.
    ///
    /// - Throws: ``HDF5Error`` with ``HDF5Error/Reason/missingObject(_:)`` (e.g. "no dataset 'x' in group '/y'")
    ///   or ``HDF5Error/Reason/wrongObjectKind(found:expected:)``.
    public func dataset(_ name: String) throws -> HDF5Dataset {
        let target = try resolve(name)
        try file.withIdentifier(object: target) { identifier, site in
            try site.requireObject(fileID: identifier, path: target, kind: .dataset)
        }
        return HDF5Dataset(file: file, path: target)
    }

    /// Whether `name` exists (as any kind of object). A path through a missing group or through a dataset does
    /// not exist.
    public func exists(_ name: String) throws -> Bool {
        try kind(of: name) != nil
    }

    /// The kind of object `name` is, or `nil` when it does not exist.
    public func kind(of name: String) throws -> HDF5ObjectKind? {
        let target = try resolve(name)
        return try file.withIdentifier(object: target) { identifier, _ in
            if case .found(let kind) = Lookup(fileID: identifier, path: target) { return kind }
            return nil
        }
    }

    /// The names of the group's members (datasets, groups, named datatypes), in increasing byte order of their
    /// UTF-8 names, as `H5Literate` reports them by name index.
    public func memberNames() throws -> [String] {
        try withOpenObject { group, site in
            try site.collectNames(call: "H5Literate") { chdf5_iterate_link_names(group, $0, $1) }
        }
    }

    // MARK: Datasets

    /// Creates the dataset `name` holding `values` in row-major order, with `shape` (default: one dimension of
    /// `values.count`; `[]` makes a scalar of one value). Missing groups on the way are created.
    ///
    /// The stored type is the element's: `Double` → Float64, `Float` → Float32, `Int64` and `Int` → Int64,
    /// `Int32` → Int32, `UInt8` → UInt8 (little-endian IEEE and two's complement, as NumPy's `<f8`, `<i8`, …).
    ///
    /// - Parameters:
    ///   - compression: ``HDF5Compression/gzip(level:)`` for chunked, compressed storage of large datasets.
    /// - Throws: ``HDF5Error``: ``HDF5Error/Reason/invalidArgument(_:)`` when the shape does not hold exactly
    ///   `values.count` elements, ``HDF5Error/Reason/alreadyExists``, ``HDF5Error/Reason/fileIsReadOnly``, …
    @discardableResult
    public func createDataset<T: HDF5Numeric>(
        _ name: String, values: [T], shape: [Int]? = nil, compression: HDF5Compression = .none
    ) throws -> HDF5Dataset {
        let target = try resolve(name)
        let shape = shape ?? [values.count]
        try file.withWritableIdentifier(object: target) { identifier, site in
            let memoryType = try site.nativeType(of: T.self)
            let fileType = try site.handle(H5Tcopy(memoryType), .datatype, "H5Tcopy")
            let space = try site.makeDataspace(shape: shape, valueCount: values.count)
            let creation = try site.makeDatasetCreationProperties(
                shape: shape, elementSize: MemoryLayout<T>.stride, compression: compression)
            try site.createDataset(
                at: target, in: identifier, type: fileType.raw, space: space.raw, creation: creation.raw
            ) { dataset in
                guard !values.isEmpty else { return }
                try values.withUnsafeBytes { bytes in
                    try site.check(
                        H5Dwrite(
                            dataset, memoryType, Constants.allOfSpace, Constants.allOfSpace,
                            Constants.defaultProperties, bytes.baseAddress), "H5Dwrite")
                }
            }
        }
        return HDF5Dataset(file: file, path: target)
    }

    /// Creates the dataset `name` from an ``HDF5Array`` (its values and shape).
    @discardableResult
    public func createDataset<T: HDF5Numeric>(
        _ name: String, array: HDF5Array<T>, compression: HDF5Compression = .none
    ) throws -> HDF5Dataset {
        try createDataset(name, values: array.values, shape: array.shape, compression: compression)
    }

    /// Creates the one-dimensional dataset `name` of variable-length UTF-8 strings.
    ///
    /// h5py reads it as an array of `bytes`, or of `str` through `dataset.asstr()[()]`.
    ///
    /// - Throws: ``HDF5Error`` (a string containing NUL is ``HDF5Error/Reason/invalidArgument(_:)``; see the
    ///   numeric ``createDataset(_:values:shape:compression:)`` for the others).
    @discardableResult
    public func createDataset(_ name: String, strings: [String]) throws -> HDF5Dataset {
        let target = try resolve(name)
        try file.withWritableIdentifier(object: target) { identifier, site in
            try site.withCStrings(strings) { pointers in
                let type = try site.makeVariableStringType()
                let space = try site.makeDataspace(shape: [strings.count], valueCount: strings.count)
                let creation = try site.makeDatasetCreationProperties(shape: [], elementSize: 0, compression: .none)
                try site.createDataset(
                    at: target, in: identifier, type: type.raw, space: space.raw, creation: creation.raw
                ) { dataset in
                    guard !strings.isEmpty else { return }
                    try pointers.withUnsafeBytes { bytes in
                        try site.check(
                            H5Dwrite(
                                dataset, type.raw, Constants.allOfSpace, Constants.allOfSpace,
                                Constants.defaultProperties, bytes.baseAddress), "H5Dwrite")
                    }
                }
            }
        }
        return HDF5Dataset(file: file, path: target)
    }

    private func resolve(_ name: String) throws -> String {
        try HDF5Path.resolve(name, relativeTo: path, site: Site(file: file.url.path, object: path))
    }
}

extension Site {
    /// Creates a dataset and fills it with `write`; if the write fails, the half-made dataset is unlinked.
    func createDataset(
        at path: String, in file: hid_t, type: hid_t, space: hid_t, creation: hid_t, write: (hid_t) throws -> Void
    ) throws {
        try requireCreatable(fileID: file, path: path)
        let links = try makeLinkCreationProperties()
        let dataset = try handle(
            H5Dcreate2(file, path, type, space, links.raw, creation, Constants.defaultProperties), .dataset,
            "H5Dcreate2")
        do {
            try write(dataset.raw)
        } catch {
            _ = H5Ldelete(file, path, Constants.defaultProperties)
            _ = chdf5_clear_errors()
            throw error
        }
    }
}
