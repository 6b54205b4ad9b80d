/// The element type of a dataset, as this module names it.
///
/// Byte order is not part of it: a big-endian `Float64` dataset is `.float64`, and HDF5 converts it on reading.
public enum HDF5ElementType: Sendable, Hashable, CustomStringConvertible {
    case float64, float32, int64, int32, uint8
    /// Strings, fixed- or variable-length.
    case string
    /// A type the module does not read, described, e.g. `"Int16"`, `"Float16"`, `"compound"`, `"enum"`.
    case unsupported(String)

    public var description: String {
        switch self {
        case .float64: "Float64"
        case .float32: "Float32"
        case .int64: "Int64"
        case .int32: "Int32"
        case .uint8: "UInt8"
        case .string: "String"
        case .unsupported(let name): name
        }
    }
}

/// The Swift number types the module reads and writes as dataset elements: `Double`, `Float`, `Int64`, `Int32`,
/// `UInt8`, and `Int` (stored as `Int64`).
///
/// Other conformances are not supported: reading or writing them throws ``HDF5Error/Reason/unsupported(_:)``.
public protocol HDF5Numeric: Sendable, Equatable {
    /// The element type used in the file.
    static var hdf5ElementType: HDF5ElementType { get }
}

extension Double: HDF5Numeric { public static var hdf5ElementType: HDF5ElementType { .float64 } }
extension Float: HDF5Numeric { public static var hdf5ElementType: HDF5ElementType { .float32 } }
extension Int64: HDF5Numeric { public static var hdf5ElementType: HDF5ElementType { .int64 } }
extension Int32: HDF5Numeric { public static var hdf5ElementType: HDF5ElementType { .int32 } }
extension UInt8: HDF5Numeric { public static var hdf5ElementType: HDF5ElementType { .uint8 } }
extension Int: HDF5Numeric { public static var hdf5ElementType: HDF5ElementType { .int64 } }
