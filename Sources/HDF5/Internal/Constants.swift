import CHDF5

/// Every libhdf5 constant the module uses, read through the C shim (`Sources/CHDF5/shim.h`).
///
/// The macros behind these values are not importable into Swift (see the shim), so nothing else in the module
/// names a C macro or `*_g` global.
enum Constants {
    /// `H5P_DEFAULT`: the default property list.
    static var defaultProperties: hid_t { chdf5_p_default() }
    /// `H5S_ALL`: the whole dataspace, for reads and writes.
    static var allOfSpace: hid_t { chdf5_s_all() }
    /// `H5T_VARIABLE`: the size of a variable-length string type.
    static var variableSize: Int { chdf5_t_variable() }
    /// `H5S_MAX_RANK`: the largest rank a dataspace can have.
    static var maximumRank: Int { Int(chdf5_s_max_rank()) }

    /// `H5F_ACC_RDONLY`, `H5F_ACC_RDWR`, `H5F_ACC_TRUNC`.
    static var readOnlyAccess: UInt32 { chdf5_f_acc_rdonly() }
    static var readWriteAccess: UInt32 { chdf5_f_acc_rdwr() }
    static var truncateAccess: UInt32 { chdf5_f_acc_trunc() }

    /// `H5T_NATIVE_*` and `H5T_C_S1`.
    static var nativeDouble: hid_t { chdf5_t_native_double() }
    static var nativeFloat: hid_t { chdf5_t_native_float() }
    static var nativeInt64: hid_t { chdf5_t_native_int64() }
    static var nativeInt32: hid_t { chdf5_t_native_int32() }
    static var nativeUInt8: hid_t { chdf5_t_native_uint8() }
    static var nativeUInt64: hid_t { chdf5_t_native_uint64() }
    static var cString: hid_t { chdf5_t_c_s1() }

    /// `H5P_FILE_ACCESS`, `H5P_DATASET_CREATE`, `H5P_LINK_CREATE`, `H5P_ATTRIBUTE_CREATE`: property list classes.
    static var fileAccessClass: hid_t { chdf5_p_file_access() }
    static var datasetCreateClass: hid_t { chdf5_p_dataset_create() }
    static var linkCreateClass: hid_t { chdf5_p_link_create() }
    static var attributeCreateClass: hid_t { chdf5_p_attribute_create() }

    /// `H5Z_FILTER_DEFLATE`: the gzip filter.
    static var deflateFilter: H5Z_filter_t { chdf5_z_filter_deflate() }
}
