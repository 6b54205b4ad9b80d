/// A JSON value as written in a safetensors header, parsed without losing anything a validator needs: object
/// members keep their order and their duplicates, numbers keep their text (so `2`, `2.0`, `2e0` and
/// `18446744073709551616` stay distinguishable and integers are exact).
indirect enum HeaderJSON {
    case object([HeaderJSONMember])
    case array([HeaderJSON])
    case string(String)
    case number(Number)
    case bool(Bool)
    case null

    /// A JSON number's text and shape.
    struct Number {
        /// The number exactly as written.
        let text: Substring
        /// True when written with neither fraction nor exponent (`12`, `-3`), false for `2.0`, `1e3`.
        let isInteger: Bool

        /// The value, when the text is a non-negative integer (no sign, fraction or exponent) that fits `Int`.
        var nonNegativeInt: Int? {
            guard isInteger, text.first != "-" else { return nil }
            return Int(text)
        }
    }

    /// A short name of the value's JSON type, for messages.
    var typeName: String {
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

/// One `"key": value` member of a JSON object.
struct HeaderJSONMember {
    let key: String
    let value: HeaderJSON
}
