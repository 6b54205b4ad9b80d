/// The character classes the `tokenizers` library (Rust) tests, stated on Unicode scalars (Rust's `char`).
enum UnicodeClasses {
    /// Rust `char::is_whitespace`: the Unicode `White_Space` property.
    static func isWhitespace(_ s: Unicode.Scalar) -> Bool {
        if s.value < 0x80 { return s.value == 0x20 || (0x09...0x0D).contains(s.value) }
        return s.properties.isWhitespace
    }

    /// Rust `char::is_numeric`: general category Nd, Nl or No.
    static func isNumeric(_ s: Unicode.Scalar) -> Bool {
        if s.value < 0x80 { return (0x30...0x39).contains(s.value) }
        switch s.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }

    /// Rust `char::is_alphanumeric`: `Alphabetic` or numeric.
    static func isAlphanumeric(_ s: Unicode.Scalar) -> Bool {
        if s.value < 0x80 {
            let v = s.value
            return (0x30...0x39).contains(v) || (0x41...0x5A).contains(v) || (0x61...0x7A).contains(v)
        }
        return s.properties.isAlphabetic || isNumeric(s)
    }

    /// The library's `is_punc`: ASCII punctuation (which includes `$+<=>^`|~`) or a Unicode `P*` category.
    static func isPunctuation(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        if v < 0x80 {
            return (0x21...0x2F).contains(v) || (0x3A...0x40).contains(v) || (0x5B...0x60).contains(v)
                || (0x7B...0x7E).contains(v)
        }
        switch s.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
            .finalPunctuation, .otherPunctuation:
            return true
        default: return false
        }
    }

    /// `unicode-normalization`'s `is_combining_mark`: general category Mn, Mc or Me.
    static func isCombiningMark(_ s: Unicode.Scalar) -> Bool {
        if s.value < 0x300 { return false }
        switch s.properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark: return true
        default: return false
        }
    }

    /// BERT's `_is_chinese_char`: the CJK ideograph blocks.
    static func isChineseCharacter(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F, 0x2B740...0x2B81F,
            0x2B920...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F:
            return true
        default: return false
        }
    }

    /// BERT's `is_control`: categories Cc, Cf, Cn, Co, except tab, newline and carriage return.
    static func isControl(_ s: Unicode.Scalar) -> Bool {
        if s == "\t" || s == "\n" || s == "\r" { return false }
        switch s.properties.generalCategory {
        case .control, .format, .unassigned, .privateUse: return true
        default: return false
        }
    }
}

/// GPT-2's reversible map of the 256 byte values onto printable Unicode scalars (`bytes_to_unicode`): the bytes
/// `!`…`~`, `¡`…`¬`, `®`…`ÿ` stand for themselves; the other 68 take U+0100, U+0101, … in byte order.
enum ByteLevelAlphabet {
    static let byteToScalar: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        var next: UInt32 = 256
        for b in 0..<256 {
            if (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b) {
                table[b] = Unicode.Scalar(UInt32(b))!
            } else {
                table[b] = Unicode.Scalar(next)!
                next += 1
            }
        }
        return table
    }()

    /// The UTF-8 encoding of each byte's scalar, ready to append.
    static let byteToUTF8: [[UInt8]] = byteToScalar.map { Array(String(Character($0)).utf8) }

    static let scalarToByte: [UInt32: UInt8] = {
        var map: [UInt32: UInt8] = [:]
        for (b, s) in byteToScalar.enumerated() { map[s.value] = UInt8(b) }
        return map
    }()

    /// The byte-level form of `text`: every UTF-8 byte replaced by its scalar.
    static func encode(_ text: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count * 2)
        for b in text.utf8 { out.append(contentsOf: byteToUTF8[Int(b)]) }
        return String(decoding: out, as: UTF8.self)
    }
}
