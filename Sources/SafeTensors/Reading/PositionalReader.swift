import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A safetensors file opened a second time, for positional reads (`pread`) of tensor bytes into a caller's buffer.
///
/// For streaming passes that read every byte once: a copy through the page cache into small reused buffers keeps
/// the process's resident memory at the size of those buffers, with no page faults, page-table work or
/// `madvise` per chunk, which reading through the file's mapping costs (see `docs/performance.md` for the numbers
/// behind choosing it for the statistics pass). The file is advised as read sequentially
/// (`posix_fadvise(POSIX_FADV_SEQUENTIAL)`, a larger read-ahead when it is not cached). Reads from several
/// threads at once are safe (`pread` does not move a shared offset). The descriptor is closed with the object.
package final class PositionalReader: Sendable {
    /// The file whose header locates the tensors.
    package let file: SafeTensorsFile
    private let descriptor: Int32
    /// The file opened with `O_DIRECT` for large reads of uncached bytes (``StorageReads``), or -1.
    private let direct: Int32

    /// Opens `file`'s path for reading; throws `.cannotOpen` if it cannot be opened.
    package init(_ file: SafeTensorsFile) throws(SafeTensorsError) {
        self.file = file
        let fd = open(file.url.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw SafeTensorsError(.cannotOpen, file: file.url, "cannot open file: \(String(cString: strerror(errno)))")
        }
        #if os(Linux)
        _ = posix_fadvise(fd, 0, 0, Int32(POSIX_FADV_SEQUENTIAL))
        #endif
        descriptor = fd
        direct = StorageReads.openDirect(file.url.path)
    }

    deinit {
        close(descriptor)
        if direct >= 0 { close(direct) }
    }

    /// Copies the stored bytes of elements `elements` (flat indices, C order) of tensor `name` — little-endian,
    /// exactly as stored, `elements.count * dtype.byteSize` bytes — to `destination`.
    ///
    /// - Throws: `.tensorNotFound`; `.invalidElementRange` for a range outside the tensor; `.dataSizeMismatch`
    ///   when the file ends early (it was truncated while open); `.cannotOpen` when the read itself fails.
    package func readBytes(_ name: String, elements: Range<Int>, into destination: UnsafeMutableRawPointer) throws {
        let info = try file.requireInfo(name)
        guard elements.lowerBound >= 0, elements.upperBound <= info.elementCount else {
            throw SafeTensorsError(
                .invalidElementRange, file: file.url, tensor: name,
                "elements \(elements.lowerBound)..<\(elements.upperBound) requested; the tensor has \(info.elementCount)"
            )
        }
        let size = info.dtype.byteSize
        let offset = file.dataStart + info.dataOffsets.lowerBound + elements.lowerBound * size
        let byteCount = elements.count * size
        try StorageReads.read(
            descriptor, direct: direct, offset: offset, count: byteCount, into: destination, file: file.url, tensor: name)
    }
}
