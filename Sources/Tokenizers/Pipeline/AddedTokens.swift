/// One entry of `added_tokens`.
struct AddedToken: Sendable {
    let content: String
    let id: Int
    let special: Bool
    let singleWord: Bool
    let lstrip: Bool
    let rstrip: Bool
    let normalized: Bool
}

/// The added tokens as the library splits them out of a text before the model runs (`AddedVocabulary`): the
/// leftmost, then longest, occurrence of any token's content (byte for byte; a `normalized` token's content is
/// normalized and looked for in normalized text, the others in the raw text), skipped if `single_word` and touching
/// a word character (alphanumeric or `_`), widened over the whitespace before it (`lstrip`) or after it (`rstrip`).
struct AddedTokenMatcher: Sendable {
    /// Patterns by first byte, longest first.
    private var byFirstByte: [[(bytes: [UInt8], token: AddedToken)]] = Array(repeating: [], count: 256)
    let isEmpty: Bool

    init(_ tokens: [(pattern: String, token: AddedToken)]) {
        for (pattern, token) in tokens where !pattern.isEmpty {
            let bytes = Array(pattern.utf8)
            byFirstByte[Int(bytes[0])].append((bytes, token))
        }
        for i in 0..<256 { byFirstByte[i].sort { $0.bytes.count > $1.bytes.count } }
        isEmpty = tokens.allSatisfy { $0.pattern.isEmpty }
    }

    /// `text` cut into runs of plain text (`token == nil`) and added tokens.
    func split(_ text: String) -> [(range: Range<Int>, token: AddedToken?)] {
        let bytes = Array(text.utf8)
        if isEmpty || bytes.isEmpty { return bytes.isEmpty ? [] : [(0..<bytes.count, nil)] }
        var result: [(range: Range<Int>, token: AddedToken?)] = []
        var startOffset = 0
        var i = 0
        while i < bytes.count {
            var found: (bytes: [UInt8], token: AddedToken)? = nil
            for candidate in byFirstByte[Int(bytes[i])] where i + candidate.bytes.count <= bytes.count {
                if bytes[i..<i + candidate.bytes.count].elementsEqual(candidate.bytes) {
                    found = candidate
                    break
                }
            }
            guard let (pattern, token) = found else {
                i += 1
                continue
            }
            var start = i
            var stop = i + pattern.count
            if token.singleWord {
                let startSpace = start == 0 || !Self.isWordScalar(Self.scalar(before: start, in: bytes))
                let stopSpace = stop == bytes.count || !Self.isWordScalar(Self.scalar(at: stop, in: bytes))
                if !startSpace || !stopSpace {
                    i += pattern.count  // the skipped match is still consumed, as the library's match iterator does
                    continue
                }
            }
            if token.lstrip {
                var s = start
                while s > 0, UnicodeClasses.isWhitespace(Self.scalar(before: s, in: bytes)) {
                    s -= Self.length(before: s, in: bytes)
                }
                start = max(s, startOffset)
            }
            if token.rstrip {
                while stop < bytes.count, UnicodeClasses.isWhitespace(Self.scalar(at: stop, in: bytes)) {
                    stop += Self.length(at: stop, in: bytes)
                }
            }
            if startOffset < start { result.append((startOffset..<start, nil)) }
            result.append((start..<stop, token))
            startOffset = stop
            i += pattern.count
        }
        if startOffset < bytes.count { result.append((startOffset..<bytes.count, nil)) }
        return result
    }

    static func isWordScalar(_ s: Unicode.Scalar) -> Bool { UnicodeClasses.isAlphanumeric(s) || s == "_" }

    static func length(at i: Int, in bytes: [UInt8]) -> Int {
        let b = bytes[i]
        return b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4
    }

    static func length(before i: Int, in bytes: [UInt8]) -> Int {
        var j = i - 1
        while j > 0 && bytes[j] & 0xC0 == 0x80 { j -= 1 }
        return i - j
    }

    static func scalar(at i: Int, in bytes: [UInt8]) -> Unicode.Scalar {
        let n = length(at: i, in: bytes)
        return String(decoding: bytes[i..<min(i + n, bytes.count)], as: UTF8.self).unicodeScalars.first ?? "\u{FFFD}"
    }

    static func scalar(before i: Int, in bytes: [UInt8]) -> Unicode.Scalar {
        scalar(at: i - length(before: i, in: bytes), in: bytes)
    }
}
