/// A Swift type that can be stored as an attribute: `Double`, `Int64`, `Int`, `String`, arrays of those, and
/// ``HDF5AttributeValue`` itself.
public protocol HDF5AttributeConvertible: Sendable {
    /// The type's name in error messages, e.g. `Float64` or `[String]`.
    static var hdf5AttributeTypeName: String { get }
    /// The value to store.
    var hdf5AttributeValue: HDF5AttributeValue { get }
    /// The Swift value of a stored attribute, or `nil` when the attribute holds another type.
    init?(hdf5AttributeValue: HDF5AttributeValue)
}

/// A type whose arrays are attribute values too (`[Double]`, `[Int64]`, `[Int]`, `[String]`).
public protocol HDF5AttributeElement: HDF5AttributeConvertible {
    /// The value to store for an array of this type.
    static func hdf5AttributeValue(ofArray array: [Self]) -> HDF5AttributeValue
    /// The Swift array held by a stored attribute, or `nil` when it holds another type.
    static func hdf5Array(from value: HDF5AttributeValue) -> [Self]?
}

extension Array: HDF5AttributeConvertible where Element: HDF5AttributeElement {
    public static var hdf5AttributeTypeName: String { "[\(Element.hdf5AttributeTypeName)]" }
    public var hdf5AttributeValue: HDF5AttributeValue { Element.hdf5AttributeValue(ofArray: self) }
    public init?(hdf5AttributeValue value: HDF5AttributeValue) {
        guard let array = Element.hdf5Array(from: value) else { return nil }
        self = array
    }
}

extension HDF5AttributeValue: HDF5AttributeConvertible {
    public static var hdf5AttributeTypeName: String { "any attribute value" }
    public var hdf5AttributeValue: HDF5AttributeValue { self }
    public init?(hdf5AttributeValue value: HDF5AttributeValue) { self = value }
}

extension Double: HDF5AttributeElement {
    public static var hdf5AttributeTypeName: String { "Float64" }
    public var hdf5AttributeValue: HDF5AttributeValue { .double(self) }
    public init?(hdf5AttributeValue value: HDF5AttributeValue) {
        guard case .double(let double) = value else { return nil }
        self = double
    }
    public static func hdf5AttributeValue(ofArray array: [Double]) -> HDF5AttributeValue { .doubles(array) }
    public static func hdf5Array(from value: HDF5AttributeValue) -> [Double]? {
        guard case .doubles(let doubles) = value else { return nil }
        return doubles
    }
}

extension Int64: HDF5AttributeElement {
    public static var hdf5AttributeTypeName: String { "Int64" }
    public var hdf5AttributeValue: HDF5AttributeValue { .int64(self) }
    public init?(hdf5AttributeValue value: HDF5AttributeValue) {
        guard case .int64(let integer) = value else { return nil }
        self = integer
    }
    public static func hdf5AttributeValue(ofArray array: [Int64]) -> HDF5AttributeValue { .int64s(array) }
    public static func hdf5Array(from value: HDF5AttributeValue) -> [Int64]? {
        guard case .int64s(let integers) = value else { return nil }
        return integers
    }
}

/// Stored as `Int64`.
extension Int: HDF5AttributeElement {
    public static var hdf5AttributeTypeName: String { "Int64" }
    public var hdf5AttributeValue: HDF5AttributeValue { .int64(Int64(self)) }
    public init?(hdf5AttributeValue value: HDF5AttributeValue) {
        guard case .int64(let integer) = value, let exact = Int(exactly: integer) else { return nil }
        self = exact
    }
    public static func hdf5AttributeValue(ofArray array: [Int]) -> HDF5AttributeValue { .int64s(array.map(Int64.init)) }
    public static func hdf5Array(from value: HDF5AttributeValue) -> [Int]? {
        guard case .int64s(let integers) = value else { return nil }
        let exact = integers.compactMap { Int(exactly: $0) }
        return exact.count == integers.count ? exact : nil
    }
}

extension String: HDF5AttributeElement {
    public static var hdf5AttributeTypeName: String { "String" }
    public var hdf5AttributeValue: HDF5AttributeValue { .string(self) }
    public init?(hdf5AttributeValue value: HDF5AttributeValue) {
        guard case .string(let string) = value else { return nil }
        self = string
    }
    public static func hdf5AttributeValue(ofArray array: [String]) -> HDF5AttributeValue { .strings(array) }
    public static func hdf5Array(from value: HDF5AttributeValue) -> [String]? {
        guard case .strings(let strings) = value else { return nil }
        return strings
    }
}
