import Foundation

/// Why reading or writing a file failed, in a few words a user can act on — never Foundation's
/// "The operation could not be completed. (NSCocoaErrorDomain error 256.)".
///
/// The reason is the system's (`strerror`: "No such file or directory", "Permission denied", "Not a directory",
/// "Is a directory"), taken from the error's POSIX code, or — when Foundation kept none — found by looking at the
/// path again; text that is not UTF-8 says so.
package enum FileErrorReason {
    /// The reason `error` (thrown while reading or writing `url`) happened, lower-case, without the path.
    package static func reason(_ error: any Error, url: URL) -> String {
        if let posix = error as? POSIXError { return describe(posix.code.rawValue) }
        let nsError = error as NSError
        if nsError.domain == NSPOSIXErrorDomain { return describe(Int32(nsError.code)) }
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError,
            underlying.domain == NSPOSIXErrorDomain
        {
            return describe(Int32(underlying.code))
        }
        if nsError.domain == NSCocoaErrorDomain {
            switch CocoaError.Code(rawValue: nsError.code) {
            case .fileReadInapplicableStringEncoding, .fileReadUnknownStringEncoding, .fileReadCorruptFile:
                return "its contents cannot be decoded (not UTF-8 text?)"
            case .fileWriteOutOfSpace:
                return describe(ENOSPC)
            default:
                break
            }
        }
        // Foundation on Linux often reports only "error 256" (unknown): look at the path.
        var status = stat()
        if stat(url.path, &status) != 0 { return describe(errno) }
        if status.st_mode & S_IFMT == S_IFDIR { return "is a directory; expected a file" }
        if let reason = notRegularFile(url) { return reason }
        if access(url.path, R_OK) != 0 { return describe(errno) }
        if nsError.domain == NSCocoaErrorDomain {
            return "the system could not read or write it (Foundation error code \(nsError.code))"
        }
        return "\(error)"
    }

    /// Why the file at `url` (after symbolic links) cannot be read as a file: `nil` for a regular file or a path that
    /// does not exist; a reason for a directory, a FIFO (opening one for reading waits for a writer, maybe forever),
    /// a device or a socket.
    package static func notRegularFile(_ url: URL) -> String? {
        var status = stat()
        guard stat(url.path, &status) == 0 else { return nil }
        switch status.st_mode & S_IFMT {
        case S_IFREG: return nil
        case S_IFDIR: return "is a directory; expected a file"
        case S_IFIFO: return "is a FIFO (named pipe), not a regular file; expected a file"
        default: return "is a device or a socket, not a regular file; expected a file"
        }
    }

    /// `strerror(code)` with a lower-case first letter, as it reads inside a message.
    private static func describe(_ code: Int32) -> String {
        if code == ENOTDIR { return "not a directory (a folder on the path is a file)" }
        let text = String(cString: strerror(code))
        return text.prefix(1).lowercased() + text.dropFirst()
    }
}
