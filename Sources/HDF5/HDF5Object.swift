import CHDF5

/// A group or dataset in an ``HDF5File``: what attributes hang on.
///
/// ``HDF5Group`` and ``HDF5Dataset`` are the only conforming types the module supports.
public protocol HDF5Object: Sendable {
    /// The file the object is in.
    var file: HDF5File { get }
    /// The object's absolute path, e.g. `/statistics/gram` (`/` for the root group).
    var path: String { get }
    /// What kind of object this is.
    static var objectKind: HDF5ObjectKind { get }
}

extension HDF5Object {
    /// The last component of ``path`` (`/` for the root group).
    public var name: String { HDF5Path.lastComponent(of: path) }

    /// Whether the object still exists in the file with its kind.
    public func exists() throws -> Bool {
        try file.withIdentifier(object: path) { identifier, _ in
            Lookup(fileID: identifier, path: path) == .found(Self.objectKind)
        }
    }

    /// Runs `body` with this object open.
    func withOpenObject<R>(
        attribute: String? = nil, writable: Bool = false, _ body: (hid_t, Site) throws -> R
    ) throws -> R {
        let run = { (identifier: hid_t, site: Site) throws -> R in
            let site = site.with(object: path, attribute: attribute)
            let object = try site.openObject(fileID: identifier, path: path, kind: Self.objectKind)
            return try body(object.raw, site)
        }
        return writable
            ? try file.withWritableIdentifier(object: path, attribute: attribute, run)
            : try file.withIdentifier(object: path, run)
    }
}

// MARK: - Attributes

extension HDF5Object {
    /// Stores `value` as the attribute `name`, replacing any attribute of that name.
    ///
    /// Numbers are stored as `Float64`/`Int64` and strings as variable-length UTF-8; a scalar value gives a scalar
    /// attribute, an array a one-dimensional one (h5py reads them as `float`, `int`, `str` and NumPy arrays).
    ///
    /// - Throws: ``HDF5Error`` (read-only file, missing object, a string with a NUL character, …).
    public func setAttribute<T: HDF5AttributeConvertible>(_ name: String, _ value: T) throws {
        let value = value.hdf5AttributeValue
        try withOpenObject(attribute: name, writable: true) { object, site in
            try site.validateAttributeName(name)
            if try site.truth(H5Aexists(object, name), "H5Aexists") {
                try site.check(H5Adelete(object, name), "H5Adelete")
            }
            try site.writeAttribute(value, named: name, on: object)
        }
    }

    /// The value of the attribute `name`, in the form the file stores it (see ``HDF5AttributeValue`` for how
    /// stored types map to cases).
    ///
    /// - Throws: ``HDF5Error`` with ``HDF5Error/Reason/missingAttribute`` when there is no such attribute, and
    ///   ``HDF5Error/Reason/unsupported(_:)`` for types the module does not read (compound, enum, …).
    public func attribute(_ name: String) throws -> HDF5AttributeValue {
        try withOpenObject(attribute: name) { object, site in
            let stored = try site.readAttribute(named: name, on: object)
            guard let value = stored.value else {
                throw site.error(.unsupported("attributes of type \(stored.typeName) are not read by this module"))
            }
            return value
        }
    }

    /// The value of the attribute `name` as `type`, e.g. `attribute("eps", as: Double.self)`.
    ///
    /// There is no conversion between numbers and strings, or between floating-point and integer values, and a
    /// scalar is not an array of one: `[Double]` asks for a one-dimensional (or higher) floating-point attribute.
    /// A `Float32` attribute reads as `Double`; an integer attribute of any width that fits reads as `Int64`.
    ///
    /// - Throws: ``HDF5Error`` with ``HDF5Error/Reason/missingAttribute`` or
    ///   ``HDF5Error/Reason/typeMismatch(found:expected:)``.
    public func attribute<T: HDF5AttributeConvertible>(_ name: String, as type: T.Type) throws -> T {
        try withOpenObject(attribute: name) { object, site in
            let stored = try site.readAttribute(named: name, on: object)
            guard let value = stored.value, let result = T(hdf5AttributeValue: value) else {
                throw site.error(.typeMismatch(found: stored.typeName, expected: T.hdf5AttributeTypeName))
            }
            return result
        }
    }

    /// Whether the attribute `name` exists.
    public func hasAttribute(_ name: String) throws -> Bool {
        try withOpenObject(attribute: name) { object, site in
            try site.validateAttributeName(name)
            return try site.truth(H5Aexists(object, name), "H5Aexists")
        }
    }

    /// The names of all attributes, in increasing byte order of their UTF-8 names.
    public func attributeNames() throws -> [String] {
        try withOpenObject { object, site in
            try site.collectNames(call: "H5Aiterate2") { chdf5_iterate_attribute_names(object, $0, $1) }
        }
    }

    /// Deletes the attribute `name`.
    ///
    /// - Throws: ``HDF5Error`` with ``HDF5Error/Reason/missingAttribute`` when there is no such attribute.
    public func removeAttribute(_ name: String) throws {
        try withOpenObject(attribute: name, writable: true) { object, site in
            try site.validateAttributeName(name)
            guard try site.truth(H5Aexists(object, name), "H5Aexists") else { throw site.error(.missingAttribute) }
            try site.check(H5Adelete(object, name), "H5Adelete")
        }
    }
}

// MARK: - Attribute internals

/// A stored attribute: its value when the module reads its type, and the stored type's name for messages.
struct StoredAttribute {
    var value: HDF5AttributeValue?
    var typeName: String
}

extension Site {
    func validateAttributeName(_ name: String) throws {
        guard !name.isEmpty, !name.utf8.contains(0) else {
            throw error(.invalidArgument("'\(name)' is not an attribute name (empty or containing NUL)"))
        }
    }

    func writeAttribute(_ value: HDF5AttributeValue, named name: String, on object: hid_t) throws {
        switch value {
        case .double(let double): try writeNumericAttribute(name, on: object, values: [double], shape: [])
        case .int64(let integer): try writeNumericAttribute(name, on: object, values: [integer], shape: [])
        case .doubles(let doubles): try writeNumericAttribute(name, on: object, values: doubles, shape: [doubles.count])
        case .int64s(let integers):
            try writeNumericAttribute(name, on: object, values: integers, shape: [integers.count])
        case .string(let string): try writeStringAttribute(name, on: object, strings: [string], shape: [])
        case .strings(let strings): try writeStringAttribute(name, on: object, strings: strings, shape: [strings.count])
        }
    }

    private func writeNumericAttribute<T: HDF5Numeric>(
        _ name: String, on object: hid_t, values: [T], shape: [Int]
    ) throws {
        let type = try nativeType(of: T.self)
        let attribute = try createAttribute(name, on: object, type: type, shape: shape, count: values.count)
        guard !values.isEmpty else { return }
        try values.withUnsafeBytes { bytes in
            try removing(
                name, from: object, onFailure: check(H5Awrite(attribute.raw, type, bytes.baseAddress), "H5Awrite"))
        }
    }

    private func writeStringAttribute(_ name: String, on object: hid_t, strings: [String], shape: [Int]) throws {
        try withCStrings(strings) { pointers in
            let type = try makeVariableStringType()
            let attribute = try createAttribute(name, on: object, type: type.raw, shape: shape, count: strings.count)
            guard !strings.isEmpty else { return }
            try pointers.withUnsafeBytes { bytes in
                try removing(
                    name, from: object,
                    onFailure: check(H5Awrite(attribute.raw, type.raw, bytes.baseAddress), "H5Awrite"))
            }
        }
    }

    private func createAttribute(
        _ name: String, on object: hid_t, type: hid_t, shape: [Int], count: Int
    ) throws -> Handle {
        let space = try makeDataspace(shape: shape, valueCount: count)
        let properties = try handle(H5Pcreate(Constants.attributeCreateClass), .propertyList, "H5Pcreate")
        try check(H5Pset_char_encoding(properties.raw, H5T_CSET_UTF8), "H5Pset_char_encoding")
        return try handle(
            H5Acreate2(object, name, type, space.raw, properties.raw, Constants.defaultProperties), .attribute,
            "H5Acreate2")
    }

    /// Runs a write; when it fails, deletes the half-made attribute before rethrowing.
    private func removing(_ name: String, from object: hid_t, onFailure write: @autoclosure () throws -> Void) throws {
        do {
            try write()
        } catch {
            _ = H5Adelete(object, name)
            _ = chdf5_clear_errors()
            throw error
        }
    }

    func readAttribute(named name: String, on object: hid_t) throws -> StoredAttribute {
        try validateAttributeName(name)
        guard try truth(H5Aexists(object, name), "H5Aexists") else { throw error(.missingAttribute) }
        let attribute = try handle(H5Aopen(object, name, Constants.defaultProperties), .attribute, "H5Aopen")
        let type = try handle(H5Aget_type(attribute.raw), .datatype, "H5Aget_type")
        let space = try handle(H5Aget_space(attribute.raw), .dataspace, "H5Aget_space")
        let extent = try extent(of: space.raw)
        let isScalar = extent.shape.isEmpty
        let element = HDF5ElementType(describing: type.raw)
        var stored = StoredAttribute(value: nil, typeName: isScalar ? element.description : "[\(element)]")

        func readNumbers<T>(_: T.Type, memoryType: hid_t) throws -> [T] {
            try [T](unsafeUninitializedCapacity: extent.count) { buffer, initialized in
                if extent.count > 0 {
                    try check(H5Aread(attribute.raw, memoryType, buffer.baseAddress), "H5Aread")
                }
                initialized = extent.count
            }
        }

        switch H5Tget_class(type.raw) {
        case H5T_FLOAT:
            let doubles = try readNumbers(Double.self, memoryType: Constants.nativeDouble)
            stored.value = isScalar ? .double(doubles[0]) : .doubles(doubles)
        case H5T_INTEGER:
            let integers: [Int64]?
            if H5Tget_sign(type.raw) == H5T_SGN_NONE && H5Tget_size(type.raw) >= 8 {
                let unsigned = try readNumbers(UInt64.self, memoryType: Constants.nativeUInt64)
                integers = unsigned.allSatisfy { $0 <= UInt64(Int64.max) } ? unsigned.map { Int64($0) } : nil
            } else {
                integers = try readNumbers(Int64.self, memoryType: Constants.nativeInt64)
            }
            if let integers { stored.value = isScalar ? .int64(integers[0]) : .int64s(integers) }
        case H5T_STRING:
            let strings = try readStrings(type: type.raw, space: space.raw, count: extent.count, call: "H5Aread") {
                H5Aread(attribute.raw, $0, $1)
            }
            stored.value = isScalar ? .string(strings[0]) : .strings(strings)
        default:
            break
        }
        return stored
    }

    /// Collects the names an HDF5 iteration (`H5Literate`, `H5Aiterate2`) reports through the shim's callback.
    func collectNames(
        call: String, _ iterate: (chdf5_name_callback, UnsafeMutableRawPointer) -> herr_t
    ) throws -> [String] {
        var names: [String] = []
        let status = withUnsafeMutablePointer(to: &names) { pointer in
            iterate(
                { name, context in
                    guard let name, let context else { return -1 }
                    context.assumingMemoryBound(to: [String].self).pointee.append(String(cString: name))
                    return 0
                }, UnsafeMutableRawPointer(pointer))
        }
        try check(status, call)
        return names
    }
}
