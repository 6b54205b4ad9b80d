/// How a new numeric dataset is stored.
public enum HDF5Compression: Sendable, Hashable {
    /// Contiguous, uncompressed storage.
    case none
    /// Chunked storage with the gzip (deflate) filter at `level` 0…9 (h5py's `compression="gzip"`).
    ///
    /// Chunks are the dataset's shape with its largest extent halved until a chunk holds at most 1 MiB. Scalar
    /// and empty datasets cannot be chunked and are stored uncompressed.
    case gzip(level: Int)
}
