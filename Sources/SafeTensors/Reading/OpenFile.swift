import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A file opened once for reading: one descriptor for the life of the object, positional reads (`pread`) into a
/// caller's buffer, advice to the kernel (`posix_fadvise`), and a read-only mapping of the whole file
/// (`PROT_READ`, `MAP_PRIVATE`, from the same descriptor) that the header is parsed from and that lends tensor
/// bytes in place (``SafeTensorsFile/withRawBytes(_:_:)``: the forward pass's aligned F32 weights).
///
/// This is the package's only place that opens, reads (through ``StorageReads``, the one `pread` loop) and advises.
/// Reads from several threads at once are safe (`pread` does not move a shared offset; the mapping is never
/// written). The descriptors are closed and the mapping released with the object.
final class OpenFile: @unchecked Sendable {
    let url: URL
    /// The mapped bytes (`count` is the file size). An empty file has no mapping and an empty buffer.
    let bytes: UnsafeRawBufferPointer
    private let descriptor: Int32
    /// The same file opened with `O_DIRECT` for large reads of uncached bytes, or -1 where the filesystem refuses it.
    private let direct: Int32

    /// Opens and maps the file at `url`; throws `.cannotOpen` if it cannot be opened, sized or mapped, or is not a
    /// regular file.
    init(url: URL) throws(SafeTensorsError) {
        self.url = url
        // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever; it is refused below
        // as not a regular file, and has no effect on a regular file's reads.
        let fd = open(url.path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else {
            throw SafeTensorsError(.cannotOpen, file: url, "cannot open file: \(String(cString: strerror(errno)))")
        }
        var status = stat()
        guard fstat(fd, &status) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw SafeTensorsError(.cannotOpen, file: url, "cannot stat file: \(reason)")
        }
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw SafeTensorsError(.cannotOpen, file: url, "not a regular file")
        }
        let size = Int(status.st_size)
        if size == 0 {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
        } else {
            guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), base != MAP_FAILED else {
                let reason = String(cString: strerror(errno))
                close(fd)
                throw SafeTensorsError(.cannotOpen, file: url, "cannot memory-map \(size) bytes: \(reason)")
            }
            bytes = UnsafeRawBufferPointer(start: base, count: size)
        }
        descriptor = fd
        direct = StorageReads.openDirect(url.path)
    }

    deinit {
        if let base = bytes.baseAddress {
            munmap(UnsafeMutableRawPointer(mutating: base), bytes.count)
        }
        close(descriptor)
        if direct >= 0 { close(direct) }
    }

    /// Copies file bytes `range` to `destination`: what the page cache holds with `pread`, a large uncached
    /// remainder from storage with `O_DIRECT` (``StorageReads``: several times faster than through the page cache
    /// for a model larger than RAM), retrying short reads and `EINTR`.
    ///
    /// - Throws: `.dataSizeMismatch` when the file ends before `range` does (it was truncated while open);
    ///   `.cannotOpen` when the read itself fails. Both name `tensor` when given.
    func read(_ range: Range<Int>, into destination: UnsafeMutableRawPointer, tensor: String?) throws(SafeTensorsError)
    {
        try StorageReads.read(
            descriptor, direct: direct, offset: range.lowerBound, count: range.count, into: destination, file: url,
            tensor: tensor)
    }

    /// Passes `advice` for file bytes `range` to the kernel (`posix_fadvise`; `.doneWith` also drops the whole
    /// pages inside `range` from this process's view of the mapping, `madvise(MADV_DONTNEED)`). A hint: never
    /// fails, and does nothing on systems without `posix_fadvise`.
    func advise(_ advice: ReadAdvice, _ range: Range<Int>) {
        #if os(Linux)
        guard !range.isEmpty else { return }
        switch advice {
        case .sequential:
            _ = posix_fadvise(descriptor, off_t(range.lowerBound), off_t(range.count), Int32(POSIX_FADV_SEQUENTIAL))
        case .willNeed:
            _ = posix_fadvise(descriptor, off_t(range.lowerBound), off_t(range.count), Int32(POSIX_FADV_WILLNEED))
        case .doneWith:
            let page = Int(sysconf(Int32(_SC_PAGESIZE)))
            let start = (range.lowerBound + page - 1) / page * page
            let end = range.upperBound / page * page
            guard end > start else { return }
            if let base = bytes.baseAddress {
                _ = madvise(UnsafeMutableRawPointer(mutating: base + start), end - start, MADV_DONTNEED)
            }
            _ = posix_fadvise(descriptor, off_t(start), off_t(end - start), Int32(POSIX_FADV_DONTNEED))
        }
        #endif
    }
}

/// What a reader tells the kernel about bytes it is about to read or has finished with.
package enum ReadAdvice: Sendable {
    /// They will be read in order, once (`POSIX_FADV_SEQUENTIAL`: a larger read-ahead when not cached).
    case sequential
    /// They are read next: start reading them from disk now (`POSIX_FADV_WILLNEED`), one large sequential request
    /// instead of a read per piece.
    case willNeed
    /// They will not be read again soon (`POSIX_FADV_DONTNEED`): a pass over files larger than RAM evicts what it
    /// has finished with rather than what it is about to read. Nothing is lost; a later read comes from disk.
    /// Only whole pages inside the range are dropped.
    case doneWith
}
