/// A problem with an analysis input: a bad argument, a report that cannot be read, a family that does not match.
///
/// An error that wraps another (an HDF5 error inside a damaged report, a ``TokenizerError`` for one line of a
/// task file, a read error) keeps it as the case's `cause`, also given by ``cause``; the description still says in
/// a few words what it was, since the command line prints one line.
///
/// Two errors are equal when their case and its paths, messages and numbers are equal; the cause is not compared.
public enum AnalysisError: Error, Sendable, Equatable, CustomStringConvertible {
    case badArgument(String, cause: (any Error & Sendable)? = nil)
    /// The report at `path` is not a MetaMerge report, or is damaged; `detail` says what was expected.
    case badReport(path: String, detail: String, cause: (any Error & Sendable)? = nil)
    /// The report was written by a newer MetaMerge (its schema_version is higher than this build reads).
    case newerSchema(path: String, found: Int, supported: Int)
    /// The report describes other models than the ones given.
    case familyMismatch(String)
    /// A report could not be written to `path` (a full disk, no permission); nothing was left under its name.
    case writeFailed(path: String, detail: String, cause: (any Error & Sendable)? = nil)

    /// The error this one wraps, when there is one.
    public var cause: (any Error & Sendable)? {
        switch self {
        case .badArgument(_, let cause), .badReport(_, _, let cause), .writeFailed(_, _, let cause): cause
        case .newerSchema, .familyMismatch: nil
        }
    }

    public var description: String {
        switch self {
        case .badArgument(let message, _): message
        case .badReport(let path, let detail, _): "\(path): \(detail)"
        case .newerSchema(let path, let found, let supported):
            "\(path): report schema_version \(found) is newer than this metamerge reads (\(supported)); upgrade "
                + "metamerge"
        case .familyMismatch(let message): message
        case .writeFailed(let path, let detail, _): "\(path): cannot write the report: \(detail)"
        }
    }

    public static func == (lhs: AnalysisError, rhs: AnalysisError) -> Bool {
        switch (lhs, rhs) {
        case (.badArgument(let a, _), .badArgument(let b, _)), (.familyMismatch(let a), .familyMismatch(let b)):
            a == b
        case (.badReport(let path, let detail, _), .badReport(let otherPath, let otherDetail, _)),
            (.writeFailed(let path, let detail, _), .writeFailed(let otherPath, let otherDetail, _)):
            path == otherPath && detail == otherDetail
        case (.newerSchema(let path, let found, let supported), .newerSchema(let otherPath, let otherFound, let other)):
            path == otherPath && found == otherFound && supported == other
        default:
            false
        }
    }
}
