import JSONCore

/// A JSON value as `tokenizer.json` holds it, read by the strict parser of `JSONCore`.
///
/// Objects keep their members in file order as `(key, value)` pairs. Keys and strings keep their exact Unicode
/// scalars: a vocabulary may hold two canonically equivalent tokens (`é` and `e` + U+0301), which a Swift
/// `Dictionary<String, _>` (canonical equality) or Foundation's bridging would merge or reject.
enum JSONValue: Sendable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        let bytes = Array(key.utf8)
        return members.first(where: { $0.0.utf8.elementsEqual(bytes) })?.1
    }

    var string: String? { if case .string(let s) = self { s } else { nil } }
    var bool: Bool? { if case .bool(let b) = self { b } else { nil } }
    var int: Int? {
        if case .number(let d) = self, d == d.rounded(), abs(d) < 9.0e15 { Int(d) } else { nil }
    }
    var double: Double? { if case .number(let d) = self { d } else { nil } }
    var array: [JSONValue]? { if case .array(let a) = self { a } else { nil } }
    var members: [(String, JSONValue)]? { if case .object(let m) = self { m } else { nil } }
    var isNull: Bool { if case .null = self { true } else { false } }

    /// Parses UTF-8 JSON with the strict reader of ``JSONNode`` (as `serde_json`, which the `tokenizers` library
    /// uses), nested at most ``maxDepth`` levels.
    ///
    /// - Throws: ``JSONSyntaxError``: what was expected, and the byte offset where the text stops being JSON.
    static func parse(_ bytes: [UInt8]) throws(JSONSyntaxError) -> JSONValue {
        JSONValue(try JSONNode.parse(bytes, maxDepth: maxDepth))
    }

    /// The deepest nesting of a tokenizer.json: 512 levels.
    static let maxDepth = 512

    /// The value of a strictly parsed node; numbers as `Double` (`Double(text)`, as the library's `f64`).
    init(_ node: JSONNode) {
        switch node {
        case .null: self = .null
        case .bool(let value): self = .bool(value)
        case .string(let value): self = .string(value)
        case .number(let number): self = .number(Double(number.text) ?? .nan)
        case .array(let elements): self = .array(elements.map(JSONValue.init))
        case .object(let members): self = .object(members.map { ($0.key, JSONValue($0.value)) })
        }
    }
}
