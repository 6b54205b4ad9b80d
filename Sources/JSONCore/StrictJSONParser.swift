/// An RFC 8259 JSON parser, as strict as `serde_json` (which the reference reader uses): whitespace is space, tab,
/// line feed and carriage return only; no trailing commas, comments, `NaN` or leading zeros; control characters
/// must be escaped in strings; `\u` escapes must pair surrogates; nesting is limited (by default to 128 levels, as
/// `serde_json`), so a hostile file cannot exhaust the stack.
///
/// The input should be valid UTF-8 (the safetensors header is checked first); invalid bytes read as U+FFFD.
package struct StrictJSONParser {
    typealias SyntaxError = JSONSyntaxError

    /// The nesting limit of `serde_json`, 128 levels: the safetensors header's, config.json's and index files'.
    package static let defaultMaxDepth = 128

    private let bytes: UnsafeRawBufferPointer
    private let maxDepth: Int
    private var index = 0
    private var depth = 0

    private init(bytes: UnsafeRawBufferPointer, maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    /// Parses one JSON value filling `bytes` (surrounding whitespace allowed).
    static func parse(_ bytes: UnsafeRawBufferPointer, maxDepth: Int) throws(SyntaxError) -> JSONNode {
        var parser = StrictJSONParser(bytes: bytes, maxDepth: maxDepth)
        parser.skipWhitespace()
        let value = try parser.parseValue()
        parser.skipWhitespace()
        guard parser.index == bytes.count else {
            throw parser.error("unexpected bytes after the JSON value")
        }
        return value
    }

    /// The layout (byte ranges, see ``JSONLayout``) of the one JSON value filling `bytes`.
    static func layout(_ bytes: UnsafeRawBufferPointer) throws(SyntaxError) -> JSONLayout {
        var parser = StrictJSONParser(bytes: bytes, maxDepth: defaultMaxDepth)
        parser.skipWhitespace()
        let value = try parser.parseLayout()
        parser.skipWhitespace()
        guard parser.index == bytes.count else {
            throw parser.error("unexpected bytes after the JSON value")
        }
        return value
    }

    /// One value with the byte ranges of its parts; the same grammar as ``parseValue()``.
    private mutating func parseLayout() throws(SyntaxError) -> JSONLayout {
        guard let byte = current else { throw error("unexpected end of input, expected a value") }
        let start = index
        switch byte {
        case UInt8(ascii: "{"):
            try enter()
            index += 1
            var members: [JSONLayout.Member] = []
            skipWhitespace()
            if current != UInt8(ascii: "}") {
                while true {
                    skipWhitespace()
                    guard current == UInt8(ascii: "\"") else { throw error("expected a string key") }
                    let keyStart = index
                    let key = try parseString()
                    let keyRange = keyStart..<index
                    skipWhitespace()
                    try expect(UInt8(ascii: ":"), "':' after an object key")
                    skipWhitespace()
                    members.append(JSONLayout.Member(key: key, keyRange: keyRange, value: try parseLayout()))
                    skipWhitespace()
                    if current == UInt8(ascii: ",") {
                        index += 1
                        continue
                    }
                    break
                }
            }
            try expect(UInt8(ascii: "}"), "',' or '}' in an object")
            depth -= 1
            return JSONLayout(range: start..<index, kind: .object, members: members)
        case UInt8(ascii: "["):
            try enter()
            index += 1
            var elements: [JSONLayout] = []
            skipWhitespace()
            if current != UInt8(ascii: "]") {
                while true {
                    skipWhitespace()
                    elements.append(try parseLayout())
                    skipWhitespace()
                    if current == UInt8(ascii: ",") {
                        index += 1
                        continue
                    }
                    break
                }
            }
            try expect(UInt8(ascii: "]"), "',' or ']' in an array")
            depth -= 1
            return JSONLayout(range: start..<index, kind: .array, elements: elements)
        case UInt8(ascii: "\""):
            let text = try parseString()
            return JSONLayout(range: start..<index, kind: .string, scalar: text)
        case UInt8(ascii: "t"):
            try parseLiteral("true")
            return JSONLayout(range: start..<index, kind: .bool, scalar: "true")
        case UInt8(ascii: "f"):
            try parseLiteral("false")
            return JSONLayout(range: start..<index, kind: .bool, scalar: "false")
        case UInt8(ascii: "n"):
            try parseLiteral("null")
            return JSONLayout(range: start..<index, kind: .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let number = try parseNumber()
            return JSONLayout(
                range: start..<index, kind: .number, scalar: String(number.text), isInteger: number.isInteger)
        default: throw error("unexpected character, expected a value")
        }
    }

    private func error(_ message: String) -> SyntaxError {
        SyntaxError(message: message, offset: index)
    }

    private var current: UInt8? { index < bytes.count ? bytes[index] : nil }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private mutating func expect(_ byte: UInt8, _ what: String) throws(SyntaxError) {
        guard current == byte else { throw error("expected \(what)") }
        index += 1
    }

    private mutating func parseValue() throws(SyntaxError) -> JSONNode {
        guard let byte = current else { throw error("unexpected end of input, expected a value") }
        switch byte {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try parseLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try parseLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try parseLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        default: throw error("unexpected character, expected a value")
        }
    }

    private mutating func parseLiteral(_ literal: StaticString) throws(SyntaxError) {
        let count = literal.utf8CodeUnitCount
        guard bytes.count - index >= count else { throw error("invalid literal") }
        for k in 0..<count where bytes[index + k] != literal.utf8Start[k] {
            throw error("invalid literal")
        }
        index += count
    }

    private mutating func enter() throws(SyntaxError) {
        depth += 1
        guard depth <= maxDepth else { throw error("nesting deeper than \(maxDepth) levels") }
    }

    private mutating func parseObject() throws(SyntaxError) -> JSONNode {
        try enter()
        index += 1  // {
        var members: [JSONNode.Member] = []
        skipWhitespace()
        if current == UInt8(ascii: "}") {
            index += 1
            depth -= 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard current == UInt8(ascii: "\"") else { throw error("expected a string key") }
            let key = try parseString()
            skipWhitespace()
            try expect(UInt8(ascii: ":"), "':' after an object key")
            skipWhitespace()
            let value = try parseValue()
            members.append(JSONNode.Member(key: key, value: value))
            skipWhitespace()
            if current == UInt8(ascii: ",") {
                index += 1
                continue
            }
            try expect(UInt8(ascii: "}"), "',' or '}' in an object")
            depth -= 1
            return .object(members)
        }
    }

    private mutating func parseArray() throws(SyntaxError) -> JSONNode {
        try enter()
        index += 1  // [
        var elements: [JSONNode] = []
        skipWhitespace()
        if current == UInt8(ascii: "]") {
            index += 1
            depth -= 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            elements.append(try parseValue())
            skipWhitespace()
            if current == UInt8(ascii: ",") {
                index += 1
                continue
            }
            try expect(UInt8(ascii: "]"), "',' or ']' in an array")
            depth -= 1
            return .array(elements)
        }
    }

    private mutating func parseNumber() throws(SyntaxError) -> JSONNode.Number {
        let start = index
        var isInteger = true
        if current == UInt8(ascii: "-") { index += 1 }
        guard let first = current, isDigit(first) else { throw error("expected a digit in a number") }
        index += 1
        if first != UInt8(ascii: "0") {
            while let c = current, isDigit(c) { index += 1 }
        }
        if current == UInt8(ascii: ".") {
            isInteger = false
            index += 1
            guard let c = current, isDigit(c) else { throw error("expected a digit after '.'") }
            while let c = current, isDigit(c) { index += 1 }
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            isInteger = false
            index += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
            guard let c = current, isDigit(c) else { throw error("expected a digit in an exponent") }
            while let c = current, isDigit(c) { index += 1 }
        }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        return JSONNode.Number(text: Substring(text), isInteger: isInteger)
    }

    private func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }

    private mutating func parseString() throws(SyntaxError) -> String {
        index += 1  // opening quote
        let start = index
        // Fast path: no escapes.
        while let c = current, c != UInt8(ascii: "\""), c != UInt8(ascii: "\\") {
            guard c >= 0x20 else { throw error("unescaped control character in a string") }
            index += 1
        }
        guard let stop = current else { throw error("unterminated string") }
        if stop == UInt8(ascii: "\"") {
            let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
            index += 1
            return text
        }
        var scratch = Array(UnsafeRawBufferPointer(rebasing: bytes[start..<index]))
        while true {
            guard let c = current else { throw error("unterminated string") }
            switch c {
            case UInt8(ascii: "\""):
                index += 1
                return String(decoding: scratch, as: UTF8.self)
            case UInt8(ascii: "\\"):
                index += 1
                guard let e = current else { throw error("unterminated escape") }
                index += 1
                switch e {
                case UInt8(ascii: "\""): scratch.append(0x22)
                case UInt8(ascii: "\\"): scratch.append(0x5C)
                case UInt8(ascii: "/"): scratch.append(0x2F)
                case UInt8(ascii: "b"): scratch.append(0x08)
                case UInt8(ascii: "f"): scratch.append(0x0C)
                case UInt8(ascii: "n"): scratch.append(0x0A)
                case UInt8(ascii: "r"): scratch.append(0x0D)
                case UInt8(ascii: "t"): scratch.append(0x09)
                case UInt8(ascii: "u"):
                    let scalar = try parseUnicodeEscape()
                    scratch.append(contentsOf: Array(String(Character(scalar)).utf8))
                default: throw error("invalid escape sequence")
                }
            default:
                guard c >= 0x20 else { throw error("unescaped control character in a string") }
                scratch.append(c)
                index += 1
            }
        }
    }

    /// After `\u`: four hex digits, and for a high surrogate a following `\uDC00`–`\uDFFF`.
    private mutating func parseUnicodeEscape() throws(SyntaxError) -> Unicode.Scalar {
        let high = try parseHex4()
        switch high {
        case 0xD800...0xDBFF:
            guard bytes.count - index >= 2, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u")
            else { throw error("lone leading surrogate in a \\u escape") }
            index += 2
            let low = try parseHex4()
            guard (0xDC00...0xDFFF).contains(low) else { throw error("invalid trailing surrogate in a \\u escape") }
            let value = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
            return Unicode.Scalar(value)!
        case 0xDC00...0xDFFF:
            throw error("lone trailing surrogate in a \\u escape")
        default:
            return Unicode.Scalar(high)!
        }
    }

    private mutating func parseHex4() throws(SyntaxError) -> UInt32 {
        guard bytes.count - index >= 4 else { throw error("expected four hex digits after \\u") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[index]
            let digit: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(c - UInt8(ascii: "A") + 10)
            default: throw error("expected four hex digits after \\u")
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }
}
