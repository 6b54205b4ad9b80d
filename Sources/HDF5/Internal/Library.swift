import CHDF5
import Foundation

/// The one door into libhdf5: every call the module makes runs inside ``run(_:)``.
///
/// HDF5 keeps global state (the identifier tables, the open-file list, the error stacks). Debian's build is
/// configured thread-safe, but the default builds on other systems (e.g. Homebrew's) are not, so the module does
/// not rely on it: one process-wide lock serialises all calls. It is recursive because releasing the last
/// reference to an ``HDF5File`` inside a call runs its `deinit`, which closes the file under the same lock.
///
/// Each call also turns off HDF5's printing of its error stack to stderr (the setting is per thread in
/// thread-safe builds, so doing it once is not enough) and empties the stack afterwards: failures are reported
/// as ``HDF5Error`` values instead, and a stack left full can make the library print "infinite loop closing
/// library" at process exit.
enum Library {
    private static let lock = NSRecursiveLock()

    static func run<R>(_ body: () throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        _ = chdf5_silence_errors()
        defer { _ = chdf5_clear_errors() }
        return try body()
    }

    /// The most specific message on the error stack, which is then cleared.
    static func takeErrorMessage() -> String? {
        var buffer = [CChar](repeating: 0, count: 1024)
        let found = buffer.withUnsafeMutableBufferPointer { chdf5_innermost_error_message($0.baseAddress, $0.count) }
        _ = chdf5_clear_errors()
        guard found != 0 else { return nil }
        return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}

/// An HDF5 identifier that closes itself when it goes out of scope.
///
/// HDF5 identifiers are reference counted inside the library, so closing one never invalidates another (a
/// dataspace obtained from a dataset stays valid after the dataset is closed).
struct Handle: ~Copyable {
    enum Kind {
        case group, dataset, dataspace, datatype, attribute, propertyList, object
    }

    let raw: hid_t
    let kind: Kind

    deinit {
        switch kind {
        case .group: _ = H5Gclose(raw)
        case .dataset: _ = H5Dclose(raw)
        case .dataspace: _ = H5Sclose(raw)
        case .datatype: _ = H5Tclose(raw)
        case .attribute: _ = H5Aclose(raw)
        case .propertyList: _ = H5Pclose(raw)
        case .object: _ = H5Oclose(raw)
        }
    }
}

/// Where an operation is happening (file, object, attribute): the one place that turns failures into errors.
struct Site {
    let file: String
    var object: String?
    var attribute: String?

    func error(_ reason: HDF5Error.Reason, libraryMessage: String? = nil) -> HDF5Error {
        HDF5Error(file: file, object: object, attribute: attribute, reason: reason, libraryMessage: libraryMessage)
    }

    /// An HDF5 call failed: the error names the call and carries HDF5's own most specific message.
    func failure(_ call: String) -> HDF5Error {
        error(.libraryFailure(call: call), libraryMessage: Library.takeErrorMessage())
    }

    /// Wraps a new identifier, or throws when the call that produced it failed (returned a negative value).
    func handle(_ raw: hid_t, _ kind: Handle.Kind, _ call: String) throws -> Handle {
        guard raw >= 0 else { throw failure(call) }
        return Handle(raw: raw, kind: kind)
    }

    /// Throws when an `herr_t` status is negative.
    func check(_ status: herr_t, _ call: String) throws {
        if status < 0 { throw failure(call) }
    }

    /// Reads a tri-state answer (`htri_t`): true, false, or a thrown failure.
    func truth(_ answer: htri_t, _ call: String) throws -> Bool {
        if answer < 0 { throw failure(call) }
        return answer > 0
    }

    func with(object: String?, attribute: String? = nil) -> Site {
        Site(file: file, object: object, attribute: attribute)
    }
}
