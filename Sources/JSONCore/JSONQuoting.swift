/// `text` as a JSON string literal: `"` and `\` escaped, line feed, carriage return and tab as `\n`, `\r`, `\t`,
/// other control characters (below U+0020) as `\u00xx`; every other scalar as is (UTF-8, no `\u` escapes).
///
/// `foundationStyle` writes as Foundation's `JSONSerialization` does: `/` as `\/`, U+0008 and U+000C as `\b` and
/// `\f` (so that text written where `JSONSerialization` wrote before keeps its bytes).
package func jsonQuoted(_ text: String, foundationStyle: Bool = false) -> String {
    var result = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": result += "\\\""
        case "\\": result += "\\\\"
        case "\n": result += "\\n"
        case "\r": result += "\\r"
        case "\t": result += "\\t"
        case "/" where foundationStyle: result += "\\/"
        case "\u{8}" where foundationStyle: result += "\\b"
        case "\u{C}" where foundationStyle: result += "\\f"
        case _ where scalar.value < 0x20:
            let hex = String(scalar.value, radix: 16)
            result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default: result.unicodeScalars.append(scalar)
        }
    }
    return result + "\""
}
