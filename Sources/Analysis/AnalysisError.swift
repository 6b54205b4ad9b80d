/// A problem with an analysis input: a bad argument, a report that cannot be read, a family that does not match.
public enum AnalysisError: Error, Sendable, Equatable, CustomStringConvertible {
    case badArgument(String)
    /// The report at `path` is not a MetaMerge report, or is damaged; `detail` says what was expected.
    case badReport(path: String, detail: String)
    /// The report was written by a newer MetaMerge (its schema_version is higher than this build reads).
    case newerSchema(path: String, found: Int, supported: Int)
    /// The report describes other models than the ones given.
    case familyMismatch(String)
    /// A report could not be written to `path` (a full disk, no permission); nothing was left under its name.
    case writeFailed(path: String, detail: String)

    public var description: String {
        switch self {
        case .badArgument(let message): message
        case .badReport(let path, let detail): "\(path): \(detail)"
        case .newerSchema(let path, let found, let supported):
            "\(path): report schema_version \(found) is newer than this metamerge reads (\(supported)); upgrade metamerge"
        case .familyMismatch(let message): message
        case .writeFailed(let path, let detail): "\(path): cannot write the report: \(detail)"
        }
    }
}
