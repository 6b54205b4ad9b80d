/// The kinds of object an HDF5 path can name.
public enum HDF5ObjectKind: String, Sendable, Hashable, CustomStringConvertible {
    case group
    case dataset
    /// A datatype stored in the file under a name (h5py's `Datatype`); this module only recognises them.
    case namedDatatype = "named datatype"

    public var description: String { rawValue }
}
