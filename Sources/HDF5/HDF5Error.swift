/// A failure of the HDF5 module, naming the file, the object (and attribute) concerned and what went wrong.
///
/// The ``description`` is one line meant for a user, e.g.
/// `report.h5: no dataset 'gram' in group '/statistics'` or
/// `report.h5: dataset '/lambda' has type Int64, expected Float64`.
///
/// Two errors are equal when their file, object, attribute and reason are equal; ``libraryMessage`` (HDF5's own
/// diagnostic text, which varies between library versions) is not compared.
public struct HDF5Error: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong.
    public enum Reason: Sendable, Equatable {
        /// The file does not exist.
        case fileNotFound
        /// The file exists but does not start with an HDF5 signature (or is a directory).
        case notHDF5File
        /// The file has an HDF5 signature but the library could not open it: typically a truncated or damaged
        /// file (``HDF5Error/libraryMessage`` then says e.g. "truncated file: eof = …"), or one another process
        /// holds open for writing.
        case cannotOpen
        /// The ``HDF5File`` was closed before this call.
        case fileIsClosed
        /// A change was asked of a file opened with ``HDF5File/AccessMode/readOnly``.
        case fileIsReadOnly
        /// ``HDF5Error/object`` is the first path that does not exist; the kind is what was expected there.
        case missingObject(HDF5ObjectKind)
        /// ``HDF5Error/object`` exists but is not the kind of object the call needs.
        case wrongObjectKind(found: HDF5ObjectKind, expected: HDF5ObjectKind)
        /// ``HDF5Error/attribute`` does not exist on ``HDF5Error/object``.
        case missingAttribute
        /// ``HDF5Error/object`` already exists, and creating it was asked.
        case alreadyExists
        /// The stored element type is not the one asked for, e.g. `found: "Int64", expected: "Float64"`.
        case typeMismatch(found: String, expected: String)
        /// An argument is not valid (a shape that does not match the values, an empty name, …).
        case invalidArgument(String)
        /// The file holds something this module does not read (e.g. a compound type or a null dataspace).
        case unsupported(String)
        /// An HDF5 call failed for a reason the module does not classify; ``HDF5Error/libraryMessage`` has HDF5's own.
        case libraryFailure(call: String)
    }

    /// The path of the file.
    public let file: String
    /// The absolute HDF5 path of the object concerned (e.g. `/statistics/gram`), when there is one.
    public let object: String?
    /// The name of the attribute concerned, when there is one.
    public let attribute: String?
    /// What went wrong.
    public let reason: Reason
    /// HDF5's most specific message from its error stack, when the failure came from the library.
    public let libraryMessage: String?

    public init(
        file: String, object: String? = nil, attribute: String? = nil, reason: Reason, libraryMessage: String? = nil
    ) {
        self.file = file
        self.object = object
        self.attribute = attribute
        self.reason = reason
        self.libraryMessage = libraryMessage
    }

    public static func == (lhs: HDF5Error, rhs: HDF5Error) -> Bool {
        lhs.file == rhs.file && lhs.object == rhs.object && lhs.attribute == rhs.attribute && lhs.reason == rhs.reason
    }

    public var description: String {
        var text = "\(file): \(message)"
        if let libraryMessage { text += " (HDF5: \(libraryMessage))" }
        return text
    }

    private var message: String {
        let objectPath = object ?? "/"
        switch reason {
        case .fileNotFound:
            return "no such file"
        case .notHDF5File:
            return "not an HDF5 file"
        case .cannotOpen:
            return "cannot open the HDF5 file (truncated, damaged, or held open for writing elsewhere)"
        case .fileIsClosed:
            return "the file has been closed"
        case .fileIsReadOnly:
            return "cannot modify \(subject): the file is open read-only (open it with mode .readWrite)"
        case .missingObject(let kind):
            let name = HDF5Path.lastComponent(of: objectPath)
            return "no \(kind) '\(name)' in group '\(HDF5Path.parent(of: objectPath))'"
        case .wrongObjectKind(let found, let expected):
            return "'\(objectPath)' is a \(found), not a \(expected)"
        case .missingAttribute:
            return "no attribute '\(attribute ?? "")' on '\(objectPath)'"
        case .alreadyExists:
            return "\(subject) already exists"
        case .typeMismatch(let found, let expected):
            let what = attribute == nil ? "dataset '\(objectPath)'" : subject
            return "\(what) has type \(found), expected \(expected)"
        case .invalidArgument(let text), .unsupported(let text):
            return object == nil ? text : "\(subject): \(text)"
        case .libraryFailure(let call):
            return object == nil ? "\(call) failed" : "\(subject): \(call) failed"
        }
    }

    private var subject: String {
        switch (object, attribute) {
        case (let object?, let attribute?): "attribute '\(attribute)' of '\(object)'"
        case (let object?, nil): "'\(object)'"
        case (nil, _): "the file"
        }
    }
}
