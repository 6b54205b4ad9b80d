import Foundation

/// What a `Split` pre-tokenizer, a `Replace` normalizer or decoder looks for: a literal string, a regular
/// expression, or a class of single scalars.
///
/// Regular expressions are the library's Oniguruma patterns run by ICU (`NSRegularExpression`); the patterns real
/// models use (`\p{L}`, `\p{N}`, `(?i:'s|…)`, `\s+(?!\S)`) mean the same in both, which the reference encodings
/// check.
enum Pattern: @unchecked Sendable {
    case literal([UInt8])
    case regex(NSRegularExpression, source: String)
    case scalar(@Sendable (Unicode.Scalar) -> Bool)

    /// `{"String": …}` or `{"Regex": …}`.
    static func parse(_ json: JSONValue?, component: String) throws -> Pattern {
        if let literal = json?["String"]?.string { return .literal(Array(literal.utf8)) }
        if let source = json?["Regex"]?.string { return try regex(source, component: component) }
        throw TokenizerError("\(component): pattern must be {\"String\": …} or {\"Regex\": …}")
    }

    static func regex(_ source: String, component: String) throws -> Pattern {
        do {
            return .regex(try NSRegularExpression(pattern: source, options: []), source: source)
        } catch {
            throw TokenizerError(
                "\(component): regular expression '\(source)' is not supported: \(error)", cause: error)
        }
    }

    /// Every match in `text`, left to right and not overlapping, as ranges of `text`; empty matches are dropped.
    func matches(in text: String) -> [Range<String.Index>] {
        switch self {
        case .literal(let needle):
            guard !needle.isEmpty else { return [] }
            var result: [Range<String.Index>] = []
            let utf8 = Array(text.utf8)
            var i = 0
            var lastIndex = text.utf8.startIndex
            var lastOffset = 0
            let first = needle[0]
            while i + needle.count <= utf8.count {
                if utf8[i] == first && utf8[i..<i + needle.count].elementsEqual(needle) {
                    let start = text.utf8.index(lastIndex, offsetBy: i - lastOffset)
                    let end = text.utf8.index(start, offsetBy: needle.count)
                    result.append(start..<end)
                    lastIndex = end
                    i += needle.count
                    lastOffset = i
                } else {
                    i += 1
                }
            }
            return result
        case .regex(let regex, _):
            // UTF-16 offsets turned into indices by walking the UTF-16 view: `Range(_:in:)` fails for ranges that do
            // not fall on Character (grapheme) boundaries, such as a ZWJ or a combining mark on its own.
            let utf16 = text.utf16
            var index = utf16.startIndex
            var offset = 0
            var result: [Range<String.Index>] = []
            for match in regex.matches(in: text, options: [], range: NSRange(location: 0, length: utf16.count)) {
                guard match.range.length > 0 else { continue }
                let start = utf16.index(index, offsetBy: match.range.location - offset)
                let end = utf16.index(start, offsetBy: match.range.length)
                result.append(start..<end)
                index = end
                offset = match.range.location + match.range.length
            }
            return result
        case .scalar(let test):
            var result: [Range<String.Index>] = []
            let scalars = text.unicodeScalars
            var i = scalars.startIndex
            while i < scalars.endIndex {
                let next = scalars.index(after: i)
                if test(scalars[i]) { result.append(i..<next) }
                i = next
            }
            return result
        }
    }

    /// `text` with every match replaced by `content`.
    func replace(in text: String, with content: String) -> String {
        let found = matches(in: text)
        guard !found.isEmpty else { return text }
        // Slices through the scalar view: a String subscript would round to Character (grapheme) boundaries.
        var out = String.UnicodeScalarView()
        let scalars = text.unicodeScalars
        var last = scalars.startIndex
        for range in found {
            out.append(contentsOf: scalars[last..<range.lowerBound])
            out.append(contentsOf: content.unicodeScalars)
            last = range.upperBound
        }
        out.append(contentsOf: scalars[last...])
        return String(out)
    }
}

/// The library's `SplitDelimiterBehavior`: what becomes of the matches when a piece is split on them.
enum SplitBehavior: String, Sendable {
    case removed = "Removed"
    case isolated = "Isolated"
    case mergedWithPrevious = "MergedWithPrevious"
    case mergedWithNext = "MergedWithNext"
    case contiguous = "Contiguous"

    /// The ranges `text` is split into, as `NormalizedString::split` computes them (empty ones dropped).
    func split(_ text: String, on matches: [Range<String.Index>], invert: Bool = false) -> [Range<String.Index>] {
        // The whole text as alternating (range, isMatch) runs.
        var runs: [(Range<String.Index>, Bool)] = []
        var previous = text.startIndex
        for m in matches {
            if previous < m.lowerBound { runs.append((previous..<m.lowerBound, invert)) }
            runs.append((m, !invert))
            previous = m.upperBound
        }
        if previous < text.endIndex { runs.append((previous..<text.endIndex, invert)) }

        var pieces: [(Range<String.Index>, remove: Bool)] = []
        switch self {
        case .isolated:
            pieces = runs.map { ($0.0, false) }
        case .removed:
            pieces = runs.map { ($0.0, $0.1) }
        case .contiguous:
            var previousMatch = false
            for (range, isMatch) in runs {
                if isMatch == previousMatch, let last = pieces.last {
                    pieces[pieces.count - 1] = (last.0.lowerBound..<range.upperBound, false)
                } else {
                    pieces.append((range, false))
                }
                previousMatch = isMatch
            }
        case .mergedWithPrevious:
            var previousMatch = false
            for (range, isMatch) in runs {
                if isMatch && !previousMatch, let last = pieces.last {
                    pieces[pieces.count - 1] = (last.0.lowerBound..<range.upperBound, false)
                } else {
                    pieces.append((range, false))
                }
                previousMatch = isMatch
            }
        case .mergedWithNext:
            var previousMatch = false
            for (range, isMatch) in runs.reversed() {
                if isMatch && !previousMatch, let last = pieces.last {
                    pieces[pieces.count - 1] = (range.lowerBound..<last.0.upperBound, false)
                } else {
                    pieces.append((range, false))
                }
                previousMatch = isMatch
            }
            pieces.reverse()
        }
        return pieces.filter { !$0.remove && !$0.0.isEmpty }.map(\.0)
    }
}

extension String {
    /// Every byte-exact occurrence of `target` replaced (Foundation's `replacingOccurrences` compares canonically,
    /// so a space followed by a combining mark would not be found).
    func replacingLiteral(_ target: String, with replacement: String) -> String {
        Pattern.literal(Array(target.utf8)).replace(in: self, with: replacement)
    }
}
