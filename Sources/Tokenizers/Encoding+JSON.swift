extension Encoding {
    /// One JSON object on one line, keys in this order: `{"text": …, "ids": […], "tokens": […]}` (UTF-8; `"`, `\` and
    /// control characters escaped).
    public func jsonLine(text: String) -> String {
        "{\"text\": " + Self.quoted(text) + ", \"ids\": [" + ids.map(String.init).joined(separator: ", ")
            + "], \"tokens\": [" + tokens.map(Self.quoted).joined(separator: ", ") + "]}"
    }

    static func quoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                out += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count)
                    + String(scalar.value, radix: 16)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
