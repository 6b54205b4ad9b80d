import CHDF5

extension HDF5ElementType {
    /// Names a stored datatype by class and size (byte order is not part of the name).
    init(describing type: hid_t) {
        let size = H5Tget_size(type)
        switch H5Tget_class(type) {
        case H5T_FLOAT:
            switch size {
            case 8: self = .float64
            case 4: self = .float32
            default: self = .unsupported("Float\(size * 8)")
            }
        case H5T_INTEGER:
            let signed = H5Tget_sign(type) != H5T_SGN_NONE
            switch (signed, size) {
            case (true, 8): self = .int64
            case (true, 4): self = .int32
            case (false, 1): self = .uint8
            default: self = .unsupported("\(signed ? "Int" : "UInt")\(size * 8)")
            }
        case H5T_STRING: self = .string
        case H5T_COMPOUND: self = .unsupported("compound")
        case H5T_ENUM: self = .unsupported("enum")
        case H5T_ARRAY: self = .unsupported("array")
        case H5T_VLEN: self = .unsupported("variable-length sequence")
        case H5T_OPAQUE: self = .unsupported("opaque")
        case H5T_REFERENCE: self = .unsupported("reference")
        case H5T_BITFIELD: self = .unsupported("bitfield")
        case H5T_TIME: self = .unsupported("time")
        default: self = .unsupported("unknown type")
        }
    }
}

extension Site {
    /// The native memory type of a supported element type.
    func nativeType<T: HDF5Numeric>(of _: T.Type) throws -> hid_t {
        switch ObjectIdentifier(T.self) {
        case ObjectIdentifier(Double.self): return Constants.nativeDouble
        case ObjectIdentifier(Float.self): return Constants.nativeFloat
        case ObjectIdentifier(Int64.self): return Constants.nativeInt64
        case ObjectIdentifier(Int32.self): return Constants.nativeInt32
        case ObjectIdentifier(UInt8.self): return Constants.nativeUInt8
        case ObjectIdentifier(Int.self) where MemoryLayout<Int>.size == 8: return Constants.nativeInt64
        default:
            throw error(.unsupported("\(T.self) is not an element type the HDF5 module reads or writes"))
        }
    }

    /// A variable-length UTF-8 C string type (h5py's `h5py.string_dtype()`; read as `str` or, for datasets, as
    /// `bytes` unless `.asstr()` is used).
    func makeVariableStringType() throws -> Handle {
        let type = try handle(H5Tcopy(Constants.cString), .datatype, "H5Tcopy")
        try check(H5Tset_size(type.raw, Constants.variableSize), "H5Tset_size")
        try check(H5Tset_cset(type.raw, H5T_CSET_UTF8), "H5Tset_cset")
        return type
    }
}
