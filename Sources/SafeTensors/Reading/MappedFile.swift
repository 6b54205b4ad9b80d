import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A whole file mapped read-only (`PROT_READ`, `MAP_PRIVATE`); unmapped when released.
///
/// Pages are read from disk on first touch and can be dropped by the kernel under memory pressure, so a file far
/// larger than RAM can be read. The mapping is never written to, so sharing it between threads is safe.
final class MappedFile: @unchecked Sendable {
    /// The mapped bytes (`count` is the file size). An empty file has no mapping and an empty buffer.
    let bytes: UnsafeRawBufferPointer

    /// Maps the file at `url`; throws `.cannotOpen` if it cannot be opened, sized or mapped.
    init(url: URL) throws(SafeTensorsError) {
        let fd = open(url.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw SafeTensorsError(.cannotOpen, file: url, "cannot open file: \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else {
            throw SafeTensorsError(.cannotOpen, file: url, "cannot stat file: \(String(cString: strerror(errno)))")
        }
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            throw SafeTensorsError(.cannotOpen, file: url, "not a regular file")
        }
        let size = Int(status.st_size)
        if size == 0 {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), base != MAP_FAILED else {
            throw SafeTensorsError(
                .cannotOpen, file: url, "cannot memory-map \(size) bytes: \(String(cString: strerror(errno)))")
        }
        bytes = UnsafeRawBufferPointer(start: base, count: size)
    }

    deinit {
        if let base = bytes.baseAddress {
            munmap(UnsafeMutableRawPointer(mutating: base), bytes.count)
        }
    }
}
