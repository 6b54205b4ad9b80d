/// A JSON value parsed without losing anything a validator needs: object members keep their order and their
/// duplicates, strings their exact Unicode scalars, numbers their text (so `2`, `2.0`, `2e0` and
/// `18446744073709551616` stay distinguishable and integers are exact).
///
/// Read by ``StrictJSONParser`` (RFC 8259, as strict as `serde_json`); the one JSON reader of the safetensors header,
/// `config.json`, index files and `tokenizer.json`.
package indirect enum JSONNode: Sendable {
    case object([Member])
    case array([JSONNode])
    case string(String)
    case number(Number)
    case bool(Bool)
    case null

    /// One `"key": value` member of a JSON object.
    package struct Member: Sendable {
        package let key: String
        package let value: JSONNode

        package init(key: String, value: JSONNode) {
            self.key = key
            self.value = value
        }
    }

    /// A JSON number's text and shape.
    package struct Number: Sendable {
        /// The number exactly as written.
        package let text: Substring
        /// True when written with neither fraction nor exponent (`12`, `-3`), false for `2.0`, `1e3`.
        package let isInteger: Bool

        package init(text: Substring, isInteger: Bool) {
            self.text = text
            self.isInteger = isInteger
        }

        /// The value, when the text is a non-negative integer (no sign, fraction or exponent) that fits `Int`.
        package var nonNegativeInt: Int? {
            guard isInteger, text.first != "-" else { return nil }
            return Int(text)
        }
    }

    /// The JSON value filling `bytes` (surrounding whitespace allowed), nested at most `maxDepth` levels.
    ///
    /// `bytes` should be UTF-8: a byte sequence that is not is read as U+FFFD (check first where that matters, as
    /// the safetensors header does).
    ///
    /// - Throws: ``JSONSyntaxError``: what was expected, and the byte offset where the text stops being JSON.
    package static func parse(
        _ bytes: UnsafeRawBufferPointer, maxDepth: Int = StrictJSONParser.defaultMaxDepth
    ) throws(JSONSyntaxError) -> JSONNode {
        try StrictJSONParser.parse(bytes, maxDepth: maxDepth)
    }

    /// ``parse(_:maxDepth:)-(UnsafeRawBufferPointer,_)`` over an array of bytes.
    package static func parse(
        _ bytes: [UInt8], maxDepth: Int = StrictJSONParser.defaultMaxDepth
    ) throws(JSONSyntaxError) -> JSONNode {
        let result: Result<JSONNode, JSONSyntaxError> = bytes.withUnsafeBytes { buffer in
            do throws(JSONSyntaxError) {
                return .success(try StrictJSONParser.parse(buffer, maxDepth: maxDepth))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// An object's members, in order with their duplicates; `nil` for other kinds.
    package var members: [Member]? {
        if case .object(let members) = self { members } else { nil }
    }

    /// The value of an object's member `key` — its last occurrence, as Python's `json` keeps — or `nil`.
    package subscript(key: String) -> JSONNode? {
        members?.last { $0.key == key }?.value
    }

    /// The string, when the value is one.
    package var stringValue: String? {
        if case .string(let string) = self { string } else { nil }
    }

    /// The first key an object holds twice (readers disagree on which counts), or `nil`.
    package var duplicateKey: String? {
        var seen = Set<String>()
        return members?.first { !seen.insert($0.key).inserted }?.key
    }

    /// A short name of the value's JSON type, for messages.
    package var typeName: String {
        switch self {
        case .object: "an object"
        case .array: "an array"
        case .string: "a string"
        case .number(let n): n.isInteger ? "the integer \(n.text)" : "the non-integer number \(n.text)"
        case .bool(let b): "the boolean \(b)"
        case .null: "null"
        }
    }
}
