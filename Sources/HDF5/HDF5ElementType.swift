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
