import Foundation
import JSONCore

/// A validated safetensors header: the tensors in data-offset order, the metadata, and where the data starts.
///
/// Layout of a file: 8 bytes holding the header length N (little-endian UInt64), N bytes of UTF-8 JSON (an object
/// mapping each tensor name to `{"dtype", "shape", "data_offsets"}`, plus an optional `"__metadata__"` object of
/// strings, possibly followed by spaces), then the data section, which the tensors' `data_offsets` must cover
/// exactly, without hole or overlap.
struct Header {
    /// The reference implementation's limit on N.
    static let maxLength = 100_000_000

    let tensors: [TensorInfo]
    let metadata: [String: String]
    /// The file offset of the data section: 8 + N.
    let dataStart: Int

    /// Reads and validates the header of the file whose whole contents are `file`; every failure is a
    /// ``SafeTensorsError`` naming `url`.
    init(decoding file: UnsafeRawBufferPointer, url: URL) throws(SafeTensorsError) {
        guard file.count >= 8 else {
            throw SafeTensorsError(
                .fileTooShort, file: url,
                "file is \(file.count) bytes; a safetensors file starts with an 8-byte header length")
        }
        let declared = UInt64(littleEndian: file.loadUnaligned(as: UInt64.self))
        guard declared <= UInt64(Self.maxLength) else {
            throw SafeTensorsError(
                .headerTooLarge, file: url,
                "header length is \(declared) bytes; at most \(Self.maxLength) are allowed (is this a safetensors "
                    + "file?)"
            )
        }
        let length = Int(declared)
        guard 8 + length <= file.count else {
            throw SafeTensorsError(
                .headerPastEndOfFile, file: url,
                "header length is \(length) bytes but only \(file.count - 8) bytes follow the length prefix (file "
                    + "truncated?)"
            )
        }
        let headerBytes = UnsafeRawBufferPointer(rebasing: file[8..<(8 + length)])
        if let bad = UTF8Validation.firstInvalidOffset(headerBytes) {
            throw SafeTensorsError(
                .headerNotUTF8, file: url, "header is not valid UTF-8 (bad byte at header offset \(bad))")
        }
        let json: JSONNode
        do {
            json = try JSONNode.parse(headerBytes)
        } catch {
            throw SafeTensorsError(
                .headerNotJSON, file: url,
                "header is not valid JSON: \(error.message) at header offset \(error.offset)", cause: error)
        }
        guard case .object(let members) = json else {
            throw SafeTensorsError(
                .headerNotObject, file: url, "header must be a JSON object, found \(json.typeName)")
        }

        var seen = Set<String>(minimumCapacity: members.count)
        var metadata: [String: String] = [:]
        var entries: [TensorInfo] = []
        entries.reserveCapacity(members.count)
        for member in members {
            let (key, value) = (member.key, member.value)
            guard seen.insert(key).inserted else {
                throw SafeTensorsError(
                    .duplicateName, file: url, tensor: key == "__metadata__" ? nil : key,
                    key == "__metadata__"
                        ? "header has two \"__metadata__\" entries; expected at most one"
                        : "header has two entries with this name; expected each name once")
            }
            if key == "__metadata__" {
                metadata = try Self.decodeMetadata(value, url: url)
            } else {
                // A name is stored as text in reports and read back by C libraries (HDF5), where NUL ends a string.
                if key.utf8.contains(0) {
                    throw SafeTensorsError(
                        .invalidTensorEntry, file: url, tensor: key.replacingOccurrences(of: "\u{0}", with: "\\u0000"),
                        "the name holds a NUL character (U+0000); expected a tensor name without it")
                }
                entries.append(try Self.decodeEntry(name: key, value, url: url))
            }
        }

        // Sorted by offset, the tensors must tile the data section from 0, with no hole and no overlap.
        entries.sort { a, b in
            if a.dataOffsets.lowerBound != b.dataOffsets.lowerBound {
                return a.dataOffsets.lowerBound < b.dataOffsets.lowerBound
            }
            if a.dataOffsets.upperBound != b.dataOffsets.upperBound {
                return a.dataOffsets.upperBound < b.dataOffsets.upperBound
            }
            return a.name.utf8.lexicographicallyPrecedes(b.name.utf8)
        }
        var cursor = 0
        for entry in entries {
            let begin = entry.dataOffsets.lowerBound
            guard begin == cursor else {
                let what =
                    begin > cursor
                    ? "leaves a hole: bytes \(cursor)..<\(begin) of the data section belong to no tensor"
                    : "overlaps the previous tensor, which ends at \(cursor)"
                throw SafeTensorsError(
                    .offsetsNotContiguous, file: url, tensor: entry.name,
                    "data_offsets [\(begin), \(entry.dataOffsets.upperBound)] \(what); expected it to start at "
                        + "\(cursor)"
                )
            }
            cursor = entry.dataOffsets.upperBound
        }
        let dataSize = file.count - 8 - length
        if cursor > dataSize, let first = entries.first(where: { $0.dataOffsets.upperBound > dataSize }) {
            throw SafeTensorsError(
                .dataSizeMismatch, file: url, tensor: first.name,
                "data_offsets [\(first.dataOffsets.lowerBound), \(first.dataOffsets.upperBound)] run past the end of "
                    + "the data: the file holds \(dataSize) bytes after the header, the tensors need \(cursor) (file "
                    + "truncated?)"
            )
        }
        guard cursor == dataSize else {
            throw SafeTensorsError(
                .dataSizeMismatch, file: url,
                cursor > dataSize
                    ? "tensors need \(cursor) bytes of data but the file holds \(dataSize) after the header (file "
                        + "truncated?)"
                    : "tensors cover \(cursor) bytes of data but the file holds \(dataSize) after the header "
                        + "(\(dataSize - cursor) unexpected trailing bytes)"
            )
        }
        self.tensors = entries
        self.metadata = metadata
        self.dataStart = 8 + length
    }

    /// `__metadata__`: an object of strings. `null` is read as no metadata, as the reference reader does.
    private static func decodeMetadata(_ value: JSONNode, url: URL) throws(SafeTensorsError) -> [String: String] {
        switch value {
        case .null:
            return [:]
        case .object(let members):
            var result: [String: String] = [:]
            for member in members {
                let (key, item) = (member.key, member.value)
                guard case .string(let text) = item else {
                    throw SafeTensorsError(
                        .invalidMetadata, file: url,
                        "__metadata__[\"\(key)\"] is \(item.typeName); metadata values must be strings")
                }
                guard result.updateValue(text, forKey: key) == nil else {
                    throw SafeTensorsError(
                        .invalidMetadata, file: url,
                        "__metadata__ has the key \"\(key)\" twice; expected each key once")
                }
            }
            return result
        default:
            throw SafeTensorsError(
                .invalidMetadata, file: url,
                "__metadata__ is \(value.typeName); expected an object of string values")
        }
    }

    /// One tensor entry: `{"dtype": <known name>, "shape": [n, …], "data_offsets": [begin, end]}`; other fields are
    /// ignored, and the positional form `[dtype, shape, data_offsets]` is accepted, as the reference reader does.
    private static func decodeEntry(
        name: String, _ value: JSONNode, url: URL
    ) throws(SafeTensorsError)
        -> TensorInfo
    {
        func fail(_ kind: SafeTensorsError.Kind, _ detail: String) -> SafeTensorsError {
            SafeTensorsError(kind, file: url, tensor: name, detail)
        }
        var dtypeValue: JSONNode?
        var shapeValue: JSONNode?
        var offsetsValue: JSONNode?
        switch value {
        case .object(let fields):
            for member in fields {
                let (key, field) = (member.key, member.value)
                let previous: JSONNode?
                switch key {
                case "dtype": previous = dtypeValue; dtypeValue = field
                case "shape": previous = shapeValue; shapeValue = field
                case "data_offsets": previous = offsetsValue; offsetsValue = field
                default: continue  // unknown fields are ignored, as by the reference reader
                }
                guard previous == nil else {
                    throw fail(.invalidTensorEntry, "field \"\(key)\" appears twice; expected it once")
                }
            }
        case .array(let items) where items.count == 3:
            // The reference reader (serde) also takes an entry as the positional array [dtype, shape, data_offsets].
            (dtypeValue, shapeValue, offsetsValue) = (items[0], items[1], items[2])
        case .array(let items):
            throw fail(
                .invalidTensorEntry,
                "entry is an array of \(items.count) elements; expected an object with dtype, shape and data_offsets")
        default:
            throw fail(
                .invalidTensorEntry, "entry is \(value.typeName); expected an object with dtype, shape and data_offsets"
            )
        }
        guard let dtypeValue else { throw fail(.missingField, "entry has no \"dtype\"") }
        guard let shapeValue else { throw fail(.missingField, "entry has no \"shape\"") }
        guard let offsetsValue else { throw fail(.missingField, "entry has no \"data_offsets\"") }

        guard case .string(let dtypeName) = dtypeValue, let dtype = DType(rawValue: dtypeName) else {
            let found = if case .string(let s) = dtypeValue { "\"\(s)\"" } else { dtypeValue.typeName }
            throw fail(
                .unknownDType,
                "dtype is \(found); expected one of \(DType.allCases.map(\.rawValue).joined(separator: ", "))")
        }

        guard case .array(let dims) = shapeValue else {
            throw fail(.invalidShape, "shape is \(shapeValue.typeName); expected an array of non-negative integers")
        }
        var shape: [Int] = []
        shape.reserveCapacity(dims.count)
        for (axis, dim) in dims.enumerated() {
            guard case .number(let number) = dim, let size = number.nonNegativeInt else {
                throw fail(
                    .invalidShape,
                    "shape[\(axis)] is \(dim.typeName); expected a non-negative integer below 2^63")
            }
            shape.append(size)
        }

        guard case .array(let bounds) = offsetsValue, bounds.count == 2 else {
            throw fail(
                .invalidOffsets,
                "data_offsets is \(Self.describeArray(offsetsValue)); expected [begin, end]")
        }
        guard case .number(let b) = bounds[0], let begin = b.nonNegativeInt,
            case .number(let e) = bounds[1], let end = e.nonNegativeInt
        else {
            throw fail(
                .invalidOffsets,
                "data_offsets holds \(bounds[0].typeName) and \(bounds[1].typeName); expected two non-negative integers"
            )
        }
        guard begin <= end else {
            throw fail(.invalidOffsets, "data_offsets [\(begin), \(end)] has begin > end")
        }

        var elements = 1
        for size in shape {
            let (product, overflow) = elements.multipliedReportingOverflow(by: size)
            guard !overflow else {
                throw fail(.sizeOverflow, "shape \(shape) has more elements than a 64-bit integer can count")
            }
            elements = product
        }
        let (bits, overflow) = elements.multipliedReportingOverflow(by: dtype.bitSize)
        guard !overflow else {
            throw fail(
                .sizeOverflow, "shape \(shape) of \(dtype.rawValue) needs more bytes than a 64-bit integer can count")
        }
        guard bits % 8 == 0 else {
            throw fail(
                .byteCountMismatch,
                "shape \(shape) of \(dtype.rawValue) is \(bits) bits, not a whole number of bytes")
        }
        guard end - begin == bits / 8 else {
            throw fail(
                .byteCountMismatch,
                "data_offsets [\(begin), \(end)] span \(end - begin) bytes; shape \(shape) of \(dtype.rawValue) needs "
                    + "\(bits / 8)"
            )
        }
        return TensorInfo(name: name, dtype: dtype, shape: shape, dataOffsets: begin..<end)
    }

    private static func describeArray(_ value: JSONNode) -> String {
        if case .array(let items) = value { "an array of \(items.count) elements" } else { value.typeName }
    }
}
