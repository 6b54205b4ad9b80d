import Foundation

/// What a `Split` pre-tokenizer, a `Replace` normalizer or decoder looks for: a literal string, a regular
/// expression, or a class of single scalars.
///
/// Regular expressions are the library's Oniguruma patterns run by ICU (`NSRegularExpression`); the patterns real
/// models use (`\p{L}`, `\p{N}`, `(?i:'s|…)`, `\s+(?!\S)`) mean the same in both, which the reference encodings
/// check.
enum Pattern: @unchecked Sendable {
    case literal([UInt8])
    /// `component` names the pattern's place in the file for errors (e.g. `tokenizer.json: pre_tokenizer Split`).
    case regex(NSRegularExpression, source: String, component: String)
    case scalar(@Sendable (Unicode.Scalar) -> Bool)

    /// The pattern as the file gives it, for messages.
    var source: String {
        switch self {
        case .literal(let bytes): String(decoding: bytes, as: UTF8.self)
        case .regex(_, let source, _): source
        case .scalar: "(a class of characters)"
        }
    }

    /// `{"String": …}` or `{"Regex": …}`.
    static func parse(_ json: JSONValue?, component: String) throws -> Pattern {
        if let literal = json?["String"]?.string { return .literal(Array(literal.utf8)) }
        if let source = json?["Regex"]?.string { return try regex(source, component: component) }
        throw TokenizerError("\(component): pattern must be {\"String\": …} or {\"Regex\": …}")
    }

    static func regex(_ source: String, component: String) throws -> Pattern {
        do {
            return .regex(
                try NSRegularExpression(pattern: source, options: []), source: source, component: component)
        } catch {
            throw TokenizerError(
                "\(component): regular expression '\(source)' is not valid in ICU's syntax (the one "
                    + "NSRegularExpression reads; the tokenizers library uses Oniguruma's)", cause: error)
        }
    }

    /// Every match in `text`, left to right and not overlapping, as ranges of `text`; empty matches are dropped.
    ///
    /// - Throws: ``TokenizerError`` naming the component and the limit when a regular expression takes more than
    ///   ``WorkLimits/regexTicks(length:)`` ticks of ICU's step counter on `text` (catastrophic backtracking).
    ///
    /// With `keepingEmpty` (what `Replace` needs) a regular expression's empty matches are kept too, as the
    /// tokenizers library's Oniguruma reports them: one at each position where the expression matches nothing,
    /// except right where a non-empty match ends (ICU would report that one as well).
    func matches(in text: String, keepingEmpty: Bool = false) throws -> [Range<String.Index>] {
        switch self {
        case .literal(let needle):
            return Self.literalMatches(needle, in: text)
        case .regex(let regex, let source, let component):
            // UTF-16 offsets turned into indices by walking the UTF-16 view: `Range(_:in:)` fails for ranges that do
            // not fall on Character (grapheme) boundaries, such as a ZWJ or a combining mark on its own.
            let utf16 = text.utf16
            var index = utf16.startIndex
            var offset = 0
            var result: [Range<String.Index>] = []
            // `.reportProgress` makes ICU call back every `regexStepsPerTick` matching steps, also inside one long
            // backtracking match; stopping there ends the search.
            let allowed = WorkLimits.regexTicks(length: utf16.count)
            var ticks = 0
            var found: [NSRange] = []
            regex.enumerateMatches(
                in: text, options: [.reportProgress], range: NSRange(location: 0, length: utf16.count)
            ) { match, flags, stop in
                if let match { found.append(match.range) }
                if flags.contains(.progress) {
                    ticks += 1
                    if ticks > allowed { stop.pointee = true }
                }
            }
            if ticks > allowed {
                let steps = allowed * WorkLimits.regexStepsPerTick
                throw TokenizerError(
                    "\(component): regular expression '\(source)' needs more than \(steps) matching steps on a "
                        + "text of \(utf16.count) UTF-16 units (limit \(WorkLimits.regexBaseSteps) + "
                        + "\(WorkLimits.regexStepsPerUnit) per unit): it backtracks catastrophically")
            }
            var previousEnd = -1
            for match in found {
                let empty = match.length == 0
                defer { if !empty { previousEnd = match.location + match.length } }
                guard !empty || (keepingEmpty && match.location != previousEnd) else { continue }
                let start = utf16.index(index, offsetBy: match.location - offset)
                let end = utf16.index(start, offsetBy: match.length)
                result.append(start..<end)
                index = end
                offset = match.location + match.length
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

    /// ``replace(in:with:component:inputBytes:)`` for a literal: on the UTF-8 bytes (a needle of whole scalars
    /// matches on scalar boundaries), with the output's size known before it is built.
    private static func replaceLiteral(
        _ needle: [UInt8], in text: String, with content: String, component: String, inputBytes: Int
    ) throws -> String {
        guard !needle.isEmpty else { return text }
        var starts: [Int] = []
        var bytes: [UInt8] = []
        text.utf8.withContiguousStorageIfAvailable { bytes = Array($0) } ?? { bytes = Array(text.utf8) }()
        bytes.withUnsafeBufferPointer { utf8 in
            let first = needle[0]
            var i = 0
            while i + needle.count <= utf8.count {
                if utf8[i] == first && needle.indices.allSatisfy({ utf8[i + $0] == needle[$0] }) {
                    starts.append(i)
                    i += needle.count
                } else {
                    i += 1
                }
            }
        }
        guard !starts.isEmpty else { return text }
        let replacement = Array(content.utf8)
        let limit = WorkLimits.outputBytes(inputBytes: inputBytes)
        let (added, overflow) = starts.count.multipliedReportingOverflow(by: replacement.count)
        let size = bytes.count - starts.count * needle.count + (overflow ? 0 : added)
        if overflow || size > limit {
            throw TokenizerError(
                "\(component) '\(String(decoding: needle, as: UTF8.self))' → '\(content)': output would exceed "
                    + "\(limit) bytes (\(WorkLimits.describeOutputLimit(inputBytes: inputBytes)))")
        }
        var out: [UInt8] = []
        out.reserveCapacity(size)
        var last = 0
        for start in starts {
            out.append(contentsOf: bytes[last..<start])
            out.append(contentsOf: replacement)
            last = start + needle.count
        }
        out.append(contentsOf: bytes[last...])
        return String(decoding: out, as: UTF8.self)
    }

    /// The byte-exact, non-overlapping occurrences of `needle` in `text`, left to right.
    static func literalMatches(_ needle: [UInt8], in text: String) -> [Range<String.Index>] {
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
    }

    /// `text` with each of `found` (ascending, not overlapping) replaced by `content`.
    static func replacing(_ found: [Range<String.Index>], in text: String, with content: String) -> String {
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

    /// `text` with every match replaced by `content`.
    ///
    /// - Throws: ``TokenizerError`` naming `component` when the result would hold more than `limit` UTF-8 bytes
    ///   (checked before it is built; `limit` from ``WorkLimits/outputBytes(inputBytes:)`` of the original input,
    ///   `inputBytes`), or when a regular expression exceeds its step limit.
    ///
    /// A pattern that matches the empty string inserts `content` there, as the tokenizers library does: an empty
    /// `{"String": ""}` before every character and at the end (`"ab"` → `"xaxbx"`), a regular expression at each of
    /// its empty matches; an empty text stays empty.
    func replace(in text: String, with content: String, component: String, inputBytes: Int) throws -> String {
        guard !text.isEmpty else { return text }
        if case .literal(let needle) = self, !needle.isEmpty {
            return try Self.replaceLiteral(
                needle, in: text, with: content, component: component, inputBytes: inputBytes)
        }
        let found: [Range<String.Index>]
        if case .literal = self {
            let scalars = text.unicodeScalars
            found = (scalars.indices + [scalars.endIndex]).map { $0..<$0 }
        } else {
            found = try matches(in: text, keepingEmpty: true)
        }
        guard !found.isEmpty else { return text }
        let limit = WorkLimits.outputBytes(inputBytes: inputBytes)
        let removed = found.reduce(0) { $0 + text.utf8.distance(from: $1.lowerBound, to: $1.upperBound) }
        let (added, overflow) = found.count.multipliedReportingOverflow(by: content.utf8.count)
        if overflow || text.utf8.count - removed + added > limit {
            throw TokenizerError(
                "\(component) '\(source)' → '\(content)': output would exceed \(limit) bytes "
                    + "(\(WorkLimits.describeOutputLimit(inputBytes: inputBytes)))")
        }
        return Self.replacing(found, in: text, with: content)
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
        Pattern.replacing(Pattern.literalMatches(Array(target.utf8), in: self), in: self, with: replacement)
    }
}
