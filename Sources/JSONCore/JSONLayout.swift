/// Where each part of a JSON text lies, as byte ranges into the text: what an editor needs to change one value and
/// keep every other byte as written.
///
/// Parsed by ``StrictJSONParser`` (RFC 8259, as strict as `serde_json`, nesting at most 128 levels). Object members
/// keep their order and their duplicates; numbers keep their text, so `30.0` and `30` stay distinguishable.
package struct JSONLayout: Sendable {
    /// The JSON type of a value.
    package enum Kind: Sendable {
        case object, array, string, number, bool, null
    }

    /// One `"key": value` member of an object: the key's range includes its quotes.
    package struct Member: Sendable {
        package let key: String
        package let keyRange: Range<Int>
        package let value: JSONLayout
    }

    /// The bytes of the value, from its first byte (`{`, `[`, `"`, a digit, …) to its last.
    package let range: Range<Int>
    package let kind: Kind
    /// An object's members, in order (empty for other kinds).
    package let members: [Member]
    /// An array's elements, in order (empty for other kinds).
    package let elements: [JSONLayout]
    /// A string's decoded value, a bool's or number's text (`nil` for objects, arrays and null).
    package let scalar: String?
    /// For a number: written with neither fraction nor exponent (`12`, `-3`).
    package let isInteger: Bool

    package init(
        range: Range<Int>, kind: Kind, members: [Member] = [], elements: [JSONLayout] = [], scalar: String? = nil,
        isInteger: Bool = false
    ) {
        self.range = range
        self.kind = kind
        self.members = members
        self.elements = elements
        self.scalar = scalar
        self.isInteger = isInteger
    }

    /// The layout of the JSON value filling `bytes` (surrounding whitespace allowed).
    ///
    /// - Throws: a message with the byte offset where the text stops being JSON.
    package static func parse(_ bytes: [UInt8]) throws(SyntaxError) -> JSONLayout {
        let result: Result<JSONLayout, SyntaxError> = bytes.withUnsafeBytes { buffer in
            do throws(SyntaxError) {
                return .success(try StrictJSONParser.layout(buffer))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// Why `bytes` is not JSON (`unterminated string at byte 12`), or `nil` when it is.
    package static func syntaxProblem(_ bytes: [UInt8]) -> String? {
        do {
            _ = try parse(bytes)
            return nil
        } catch {
            return error.description
        }
    }

    /// Why a text is not JSON: what was expected, and the byte offset where it went wrong.
    package typealias SyntaxError = JSONSyntaxError

    /// The last member named `key` (the one JSON readers keep), for an object.
    package func member(_ key: String) -> Member? {
        members.last { $0.key == key }
    }
}
