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
