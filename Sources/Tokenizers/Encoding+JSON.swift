extension Encoding {
    /// One JSON object on one line, keys in this order: `{"text": …, "ids": […], "tokens": […]}` (UTF-8; `"`, `\` and
    /// control characters escaped).
    public func jsonLine(text: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count * 3 + ids.count * 16)
        out += Array("{\"text\": ".utf8)
        Self.appendQuoted(text, to: &out)
        out += Array(", \"ids\": [".utf8)
        for (i, id) in ids.enumerated() {
            if i > 0 { out += [0x2C, 0x20] }
            out += Array(String(id).utf8)
        }
        out += Array("], \"tokens\": [".utf8)
        for (i, token) in tokens.enumerated() {
            if i > 0 { out += [0x2C, 0x20] }
            Self.appendQuoted(token, to: &out)
        }
        out += [0x5D, 0x7D]
        return String(decoding: out, as: UTF8.self)
    }

    static func appendQuoted(_ s: String, to out: inout [UInt8]) {
        out.append(0x22)
        for byte in s.utf8 {
            switch byte {
            case 0x22: out += [0x5C, 0x22]
            case 0x5C: out += [0x5C, 0x5C]
            case 0x0A: out += [0x5C, 0x6E]
            case 0x0D: out += [0x5C, 0x72]
            case 0x09: out += [0x5C, 0x74]
            case 0..<0x20, 0x7F:
                let hex = Array("0123456789abcdef".utf8)
                out += [0x5C, 0x75, 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 15)]]
            default: out.append(byte)
            }
        }
        out.append(0x22)
    }
}
