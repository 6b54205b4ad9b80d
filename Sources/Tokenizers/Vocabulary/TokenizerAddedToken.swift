import JSONCore

/// One entry of a `tokenizer.json`'s `added_tokens` (`{"id", "content", "special", "normalized", …}`), every field
/// kept, so that it can be written again under another id.
package struct TokenizerAddedToken: Sendable {
    /// The token, exact Unicode scalars as written.
    package let content: String
    package let id: Int
    /// Every member of the entry, in file order.
    let fields: [(String, JSONValue)]

    /// The entry as one line of JSON with `id` set to `id`: members sorted by key, no spaces (as
    /// `JSONSerialization` with `.sortedKeys` writes it: `/` as `\/`, integers without a fraction).
    package func json(id: Int) -> String {
        var members = fields.filter { !$0.0.utf8.elementsEqual("id".utf8) }
        members.append(("id", .number(Double(id))))
        return Self.object(members)
    }

    /// The entry `add_tokens(token)` of the `tokenizers` library creates (`AddedToken(token)`: not special,
    /// normalized, no stripping) with id `id`, written as ``json(id:)`` writes.
    package static func json(plain token: String, id: Int) -> String {
        object([
            ("content", .string(token)), ("id", .number(Double(id))), ("lstrip", .bool(false)),
            ("normalized", .bool(true)), ("rstrip", .bool(false)), ("single_word", .bool(false)),
            ("special", .bool(false)),
        ])
    }

    private static func object(_ members: [(String, JSONValue)]) -> String {
        let sorted = members.sorted { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) }
        return "{" + sorted.map { quoted($0.0) + ":" + text($0.1) }.joined(separator: ",") + "}"
    }

    private static func text(_ value: JSONValue) -> String {
        switch value {
        case .null: return "null"
        case .bool(let flag): return flag ? "true" : "false"
        case .number(let number):
            if number == number.rounded(), abs(number) < 9.0e15 { return String(Int(number)) }
            return "\(number)"
        case .string(let string): return quoted(string)
        case .array(let items): return "[" + items.map(text).joined(separator: ",") + "]"
        case .object(let members): return object(members)
        }
    }

    private static func quoted(_ string: String) -> String { jsonQuoted(string, foundationStyle: true) }
}
