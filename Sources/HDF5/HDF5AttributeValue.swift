/// The value of an attribute: a scalar or a one-dimensional array of numbers or strings.
///
/// Writing stores `Float64`, `Int64` or variable-length UTF-8 strings (h5py reads them as `float`, `int` and
/// `str`, and arrays as NumPy arrays). Reading accepts what h5py and other writers commonly store: any
/// floating-point attribute becomes `.double`/`.doubles` (a `Float32` widens exactly), any integer attribute
/// that fits in `Int64` becomes `.int64`/`.int64s`, and fixed- or variable-length strings become
/// `.string`/`.strings`. A scalar (rank-0) attribute reads as a scalar case; an attribute of any other rank reads
/// as an array case, flattened in row-major order.
public enum HDF5AttributeValue: Sendable, Hashable {
    case double(Double)
    case int64(Int64)
    case string(String)
    case doubles([Double])
    case int64s([Int64])
    case strings([String])

    /// The name used in messages: `Float64`, `Int64`, `String`, or the element name in brackets for arrays.
    public var typeName: String {
        switch self {
        case .double: "Float64"
        case .int64: "Int64"
        case .string: "String"
        case .doubles: "[Float64]"
        case .int64s: "[Int64]"
        case .strings: "[String]"
        }
    }
}
