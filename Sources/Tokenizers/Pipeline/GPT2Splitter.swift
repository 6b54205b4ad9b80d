/// GPT-2's split pattern `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+` as a scanner
/// over scalars — what ByteLevel's `use_regex` applies, without a regular-expression engine.
///
/// The alternatives are tried in order at each position, as a backtracking engine does: a contraction (case
/// sensitive); an optional space then a run of letters (`\p{L}`), of numbers (`\p{N}`), or of anything else that is
/// not whitespace; a whitespace run that stops before the last space preceding a non-space (`\s+(?!\S)`), or, when
/// that leaves nothing, the whole run (`\s+`). Whitespace is the `White_Space` property.
enum GPT2Splitter {
    static func isLetter(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        if v < 0x80 { return (0x41...0x5A).contains(v) || (0x61...0x7A).contains(v) }
        switch s.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return false
        }
    }

    static func isNumber(_ s: Unicode.Scalar) -> Bool { UnicodeClasses.isNumeric(s) }

    static func isSpace(_ s: Unicode.Scalar) -> Bool { UnicodeClasses.isWhitespace(s) }

    /// The matches, as ranges of scalar offsets, left to right; together they cover `scalars`.
    static func matches(_ scalars: [Unicode.Scalar]) -> [Range<Int>] {
        var out: [Range<Int>] = []
        let n = scalars.count
        var i = 0
        while i < n {
            let c = scalars[i]
            if c == "'" && i + 1 < n {
                let c1 = scalars[i + 1]
                if c1 == "s" || c1 == "t" || c1 == "m" || c1 == "d" {
                    out.append(i..<i + 2)
                    i += 2
                    continue
                }
                if i + 2 < n {
                    let c2 = scalars[i + 2]
                    if (c1 == "r" && c2 == "e") || (c1 == "v" && c2 == "e") || (c1 == "l" && c2 == "l") {
                        out.append(i..<i + 3)
                        i += 3
                        continue
                    }
                }
            }
            let start = c == " " ? i + 1 : i
            if start < n {
                let d = scalars[start]
                let test: ((Unicode.Scalar) -> Bool)?
                if isLetter(d) {
                    test = isLetter
                } else if isNumber(d) {
                    test = isNumber
                } else if !isSpace(d) {
                    test = { !isSpace($0) && !isLetter($0) && !isNumber($0) }
                } else {
                    test = nil
                }
                if let test {
                    var k = start + 1
                    while k < n && test(scalars[k]) { k += 1 }
                    out.append(i..<k)
                    i = k
                    continue
                }
            }
            // c is whitespace here: every scalar is a letter, a number, whitespace, or none of these.
            var k = i + 1
            while k < n && isSpace(scalars[k]) { k += 1 }
            let end = (k == n || k - i == 1) ? k : k - 1
            out.append(i..<end)
            i = end
        }
        return out
    }
}
