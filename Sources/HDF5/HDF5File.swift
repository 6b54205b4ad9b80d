import CHDF5
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An open HDF5 file; it closes itself when the last reference goes away.
///
/// ```swift
/// let file = try HDF5File.create(at: url)
/// let statistics = try file.root.createGroup("statistics")
/// try statistics.createDataset("gram", values: gram, shape: [tensors, tasks, tasks])
/// try statistics.setAttribute("tasks", ["math", "code"])
/// try file.close()
///
/// let report = try HDF5File.open(at: url)
/// let gram = try report.root.dataset("statistics/gram").read(Double.self)   // values + shape
/// ```
///
/// **Threads.** Every call into libhdf5 made by this module holds one process-wide lock, so ``HDF5File``,
/// ``HDF5Group`` and ``HDF5Dataset`` are `Sendable` and may be used from any thread or task; calls are simply
/// serialised (HDF5 work is I/O-bound, and the library itself is not thread-safe in most builds).
///
/// **Lifetime.** Groups and datasets are names (file + path), not open HDF5 objects: each call opens what it
/// needs and closes it before returning. They keep their file alive; once the file is closed, calls through them
/// throw ``HDF5Error/Reason/fileIsClosed``.
public final class HDF5File: @unchecked Sendable {
    /// How an existing file is opened.
    public enum AccessMode: Sendable, Hashable {
        case readOnly
        case readWrite
    }

    /// The file's location.
    public let url: URL
    /// ``AccessMode/readWrite`` for a created file.
    public let mode: AccessMode

    /// The HDF5 file identifier, `nil` once closed. Read and written only inside `Library.run`.
    private nonisolated(unsafe) var identifier: hid_t?

    private init(url: URL, mode: AccessMode, identifier: hid_t) {
        self.url = url
        self.mode = mode
        self.identifier = identifier
    }

    deinit {
        Library.run {
            if let identifier { _ = H5Fclose(identifier) }
        }
    }

    /// Creates a new, empty file at `url`, replacing any file there, open for reading and writing.
    ///
    /// - Throws: ``HDF5Error`` with ``HDF5Error/Reason/libraryFailure(call:)`` when the file cannot be created (a
    ///   missing directory, no permission, or the same file already open in this process).
    public static func create(at url: URL) throws -> HDF5File {
        let path = url.path
        return try Library.run {
            let site = Site(file: path)
            let access = try makeFileAccessProperties(site)
            let identifier = H5Fcreate(path, Constants.truncateAccess, Constants.defaultProperties, access.raw)
            guard identifier >= 0 else { throw site.failure("H5Fcreate") }
            return HDF5File(url: url, mode: .readWrite, identifier: identifier)
        }
    }

    /// Opens an existing HDF5 file.
    ///
    /// The file is checked before HDF5 opens it, so a missing file, a file of another format, and a truncated or
    /// damaged HDF5 file each throw their own error rather than reaching the library's failure paths.
    ///
    /// - Throws: ``HDF5Error`` with reason ``HDF5Error/Reason/fileNotFound``, ``HDF5Error/Reason/notHDF5File``
    ///   or ``HDF5Error/Reason/cannotOpen`` (truncated or damaged; the library's message says which).
    public static func open(at url: URL, mode: AccessMode = .readOnly) throws -> HDF5File {
        let path = url.path
        return try Library.run {
            let site = Site(file: path)
            try checkRegularFile(path, site)
            let signature = chdf5_is_hdf5(path)
            if signature < 0 { throw site.error(.cannotOpen, libraryMessage: Library.takeErrorMessage()) }
            if signature == 0 { throw site.error(.notHDF5File) }
            let access = try makeFileAccessProperties(site)
            let flags = mode == .readOnly ? Constants.readOnlyAccess : Constants.readWriteAccess
            let identifier = H5Fopen(path, flags, access.raw)
            guard identifier >= 0 else { throw site.error(.cannotOpen, libraryMessage: Library.takeErrorMessage()) }
            return HDF5File(url: url, mode: mode, identifier: identifier)
        }
    }

    /// Refuses a path that is missing or is not a regular file (after symbolic links): HDF5 would open a FIFO and
    /// wait for a writer forever, and a directory or a device is no HDF5 file either.
    private static func checkRegularFile(_ path: String, _ site: Site) throws {
        var status = stat()
        guard stat(path, &status) == 0 else { throw site.error(.fileNotFound) }
        guard (status.st_mode & S_IFMT) == S_IFREG else { throw site.error(.notHDF5File) }
    }

    /// Creates a new, empty file held in memory (HDF5's core driver without a backing store): nothing reaches the
    /// disk; ``image()`` gives its bytes for the caller to write. A full disk is then an ordinary write error of
    /// the caller's, not a failure inside the library (which leaves it in a state that crashes at exit).
    ///
    /// - Parameter name: the name errors mention.
    public static func createInMemory(name: String) throws -> HDF5File {
        try Library.run {
            let site = Site(file: name)
            let access = try makeFileAccessProperties(site)
            try site.check(H5Pset_fapl_core(access.raw, 1 << 20, false), "H5Pset_fapl_core")
            let identifier = H5Fcreate(name, Constants.truncateAccess, Constants.defaultProperties, access.raw)
            guard identifier >= 0 else { throw site.failure("H5Fcreate") }
            return HDF5File(url: URL(fileURLWithPath: name), mode: .readWrite, identifier: identifier)
        }
    }

    /// Opens a copy of the file at `url` in memory, for reading and writing; changes never reach `url` (write
    /// ``image()`` elsewhere). Checked as ``open(at:mode:)`` checks.
    public static func openInMemory(copying url: URL) throws -> HDF5File {
        let path = url.path
        return try Library.run {
            let site = Site(file: path)
            try checkRegularFile(path, site)
            let signature = chdf5_is_hdf5(path)
            if signature < 0 { throw site.error(.cannotOpen, libraryMessage: Library.takeErrorMessage()) }
            if signature == 0 { throw site.error(.notHDF5File) }
            let access = try makeFileAccessProperties(site)
            try site.check(H5Pset_fapl_core(access.raw, 1 << 20, false), "H5Pset_fapl_core")
            let identifier = H5Fopen(path, Constants.readWriteAccess, access.raw)
            guard identifier >= 0 else { throw site.error(.cannotOpen, libraryMessage: Library.takeErrorMessage()) }
            return HDF5File(url: url, mode: .readWrite, identifier: identifier)
        }
    }

    /// The file's bytes as they would be on disk (flushed first): for a file from ``createInMemory(name:)`` or
    /// ``openInMemory(copying:)``.
    public func image() throws -> Data {
        try withIdentifier(object: nil) { identifier, site in
            try site.check(H5Fflush(identifier, H5F_SCOPE_GLOBAL), "H5Fflush")
            let size = H5Fget_file_image(identifier, nil, 0)
            guard size >= 0 else { throw site.failure("H5Fget_file_image") }
            var data = Data(count: size)
            let written = data.withUnsafeMutableBytes { H5Fget_file_image(identifier, $0.baseAddress, size) }
            guard written == size else { throw site.failure("H5Fget_file_image") }
            return data
        }
    }

    /// The root group, `/`.
    public var root: HDF5Group { HDF5Group(file: self, path: "/") }

    /// Whether ``close()`` has not been called yet.
    public var isOpen: Bool { Library.run { identifier != nil } }

    /// Writes buffered data to disk; the file stays open.
    public func flush() throws {
        try withIdentifier(object: nil) { identifier, site in
            try site.check(H5Fflush(identifier, H5F_SCOPE_GLOBAL), "H5Fflush")
        }
    }

    /// Flushes and closes the file. When this returns, the file on disk is complete (and may be renamed into
    /// place); calling it again does nothing.
    public func close() throws {
        try Library.run {
            guard let identifier else { return }
            self.identifier = nil
            try Site(file: url.path).check(H5Fclose(identifier), "H5Fclose")
        }
    }

    /// Runs `body` under the library lock with the open file's identifier.
    func withIdentifier<R>(object: String?, _ body: (hid_t, Site) throws -> R) throws -> R {
        try Library.run {
            let site = Site(file: url.path, object: object)
            guard let identifier else { throw site.error(.fileIsClosed) }
            return try body(identifier, site)
        }
    }

    /// As ``withIdentifier(object:_:)``, for calls that change the file.
    func withWritableIdentifier<R>(
        object: String?, attribute: String? = nil, _ body: (hid_t, Site) throws -> R
    ) throws -> R {
        try withIdentifier(object: object) { identifier, site in
            let site = site.with(object: object, attribute: attribute)
            guard mode == .readWrite else { throw site.error(.fileIsReadOnly) }
            return try body(identifier, site)
        }
    }

    /// File access properties: closing the file closes everything in it (`H5F_CLOSE_STRONG`), so ``close()``
    /// really releases the file even if an identifier were left open; and no `flock` file locking.
    ///
    /// HDF5 ≥ 1.10 locks every file it opens with `flock`. Under the parallel test suite (which also starts child
    /// processes) creating a fresh file in a fresh directory was seen to fail with "unable to lock file, errno =
    /// 11". MetaMerge writes its reports to a private temporary name and renames them into place when complete,
    /// so no other writer can meet a half-written file: the lock protects nothing here.
    private static func makeFileAccessProperties(_ site: Site) throws -> Handle {
        let list = try site.handle(H5Pcreate(Constants.fileAccessClass), .propertyList, "H5Pcreate")
        try site.check(H5Pset_fclose_degree(list.raw, H5F_CLOSE_STRONG), "H5Pset_fclose_degree")
        try site.check(H5Pset_file_locking(list.raw, false, true), "H5Pset_file_locking")
        return list
    }
}
