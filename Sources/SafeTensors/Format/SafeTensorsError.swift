import Foundation

/// Why a safetensors file could not be read or written.
///
/// ``kind`` says what went wrong, in a form a program can test; ``description`` is one line for a person, naming
/// the file, the tensor when there is one, and what was expected. An error that wraps another (the JSON parser's
/// syntax error for a header) keeps it as ``cause``.
///
/// Two errors are equal (and hash alike) when their kind, file, tensor and detail are equal; ``cause`` is not
/// compared.
public struct SafeTensorsError: Error, Sendable, CustomStringConvertible, Hashable {
    /// The kinds of failure. Cases are grouped: opening, header structure, tensor entries, data layout, access,
    /// and writing.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        // Opening
        /// The file could not be opened, sized or memory-mapped (missing, unreadable, a directory, …).
        case cannotOpen
        /// The file is shorter than the 8-byte header length prefix.
        case fileTooShort
        /// The header length prefix exceeds the 100,000,000-byte limit of the reference implementation.
        case headerTooLarge
        /// 8 + header length is past the end of the file.
        case headerPastEndOfFile

        // Header structure
        /// The header bytes are not valid UTF-8.
        case headerNotUTF8
        /// The header is not valid JSON (syntax error, trailing bytes other than whitespace, nesting deeper than 128).
        case headerNotJSON
        /// The header's JSON value is not an object.
        case headerNotObject
        /// A key appears twice in the header (two tensors with one name, or `__metadata__` twice).
        case duplicateName
        /// `__metadata__` is not an object whose values are all strings.
        case invalidMetadata

        // Tensor entries
        /// A tensor's entry is not a JSON object.
        case invalidTensorEntry
        /// A tensor's entry lacks `dtype`, `shape` or `data_offsets`.
        case missingField
        /// `dtype` is not a string naming a known dtype.
        case unknownDType
        /// `shape` is not an array of non-negative integers.
        case invalidShape
        /// `data_offsets` is not `[begin, end]` of non-negative integers with begin ≤ end.
        case invalidOffsets
        /// The element count or byte count computed from the shape overflows a 64-bit integer.
        case sizeOverflow
        /// `end − begin` differs from the byte count the shape and dtype give (or a packed sub-byte tensor does
        /// not end on a byte boundary).
        case byteCountMismatch

        // Data layout
        /// Sorted by offset, the tensors do not start at 0 and follow each other without hole or overlap.
        case offsetsNotContiguous
        /// The tensors' data does not end exactly at the end of the file (data truncated, or bytes after it).
        case dataSizeMismatch

        // Access
        /// No tensor of that name in the file (or, for a writer, in the declared list).
        case tensorNotFound
        /// Float32 conversion asked of a tensor whose dtype is not F64, F32, F16 or BF16.
        case notFloatingPoint
        /// The element range is outside the tensor, or the buffer's count differs from the range's.
        case invalidElementRange

        // Writing
        /// The writer was given an invalid tensor list (duplicate or reserved name, negative dimension, overflow).
        case invalidTensorList
        /// Data arrived for a tensor other than the next one in header order.
        case unexpectedTensor
        /// More bytes were appended to a tensor than its shape holds.
        case tooMuchData
        /// `finish()` was called before every tensor received all its bytes.
        case incompleteData
        /// The writer already finished or failed; it accepts no more calls.
        case writerClosed
        /// Creating or writing the output file failed.
        case writeFailed
    }

    /// What went wrong.
    public let kind: Kind
    /// The file concerned.
    public let file: URL
    /// The tensor concerned, if any.
    public let tensor: String?
    /// What was found and what was expected.
    public let detail: String
    /// The error this one wraps, when there is one.
    public let cause: (any Error & Sendable)?

    /// Creates an error; `detail` should say what was found and what was expected.
    public init(
        _ kind: Kind, file: URL, tensor: String? = nil, _ detail: String, cause: (any Error & Sendable)? = nil
    ) {
        self.kind = kind
        self.file = file
        self.tensor = tensor
        self.detail = detail
        self.cause = cause
    }

    public static func == (lhs: SafeTensorsError, rhs: SafeTensorsError) -> Bool {
        lhs.kind == rhs.kind && lhs.file == rhs.file && lhs.tensor == rhs.tensor && lhs.detail == rhs.detail
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(kind)
        hasher.combine(file)
        hasher.combine(tensor)
        hasher.combine(detail)
    }

    /// `tensor '<name>' in <path>: <detail>`, or `<path>: <detail>` when no tensor is concerned.
    public var description: String {
        if let tensor {
            "tensor '\(tensor)' in \(file.path): \(detail)"
        } else {
            "\(file.path): \(detail)"
        }
    }
}
