import Foundation

/// A piece of the text on its way to the model. `atStart`: it begins at offset 0 of the original text (what
/// Metaspace's `prepend_scheme: first` asks).
struct Piece: Sendable {
    var text: String
    var atStart: Bool
}

/// Metaspace's `prepend_scheme`.
enum PrependScheme: String, Sendable {
    case always, first, never
}

/// A `pre_tokenizer` of `tokenizer.json`: splits a piece into the words the model encodes one by one.
indirect enum PreTokenizer: Sendable {
    /// With `use_regex`, split with GPT-2's pattern (``GPT2Splitter``); then every UTF-8 byte becomes its scalar.
    case byteLevel(addPrefixSpace: Bool, useRegex: Bool)
    case split(Pattern, SplitBehavior, invert: Bool)
    case digits(individual: Bool)
    case metaspace(replacement: String, prependScheme: PrependScheme, split: Bool)
    case whitespace
    case whitespaceSplit
    case punctuation(SplitBehavior)
    case bert
    case sequence([PreTokenizer])

    /// The `Whitespace` pre-tokenizer's `\w+|[^\w\s]+`, kept (the rest removed).
    static let wordRegex = try! NSRegularExpression(pattern: #"\w+|[^\w\s]+"#)

    static func parse(_ json: JSONValue, file: String) throws -> PreTokenizer {
        let type = json["type"]?.string ?? "?"
        let component = "\(file): pre_tokenizer \(type)"
        func behavior(_ key: String = "behavior", default value: SplitBehavior) throws -> SplitBehavior {
            guard let name = json[key]?.string else { return value }
            guard let b = SplitBehavior(rawValue: name) else {
                throw TokenizerError(
                    "\(component): behavior '\(name)' is not one of Removed, Isolated, "
                        + "MergedWithPrevious, MergedWithNext, Contiguous")
            }
            return b
        }
        switch type {
        case "ByteLevel":
            return .byteLevel(
                addPrefixSpace: json["add_prefix_space"]?.bool ?? true, useRegex: json["use_regex"]?.bool ?? true)
        case "Split":
            return .split(
                try Pattern.parse(json["pattern"], component: component), try behavior(default: .isolated),
                invert: json["invert"]?.bool ?? false)
        case "Digits":
            return .digits(individual: json["individual_digits"]?.bool ?? false)
        case "Metaspace":
            let replacement = json["replacement"]?.string ?? "\u{2581}"
            guard replacement.unicodeScalars.count == 1 else {
                throw TokenizerError("\(component): replacement '\(replacement)' must be one character")
            }
            var scheme = PrependScheme.always
            if let name = json["prepend_scheme"]?.string {
                guard let s = PrependScheme(rawValue: name) else {
                    throw TokenizerError("\(component): prepend_scheme '\(name)' is not always, first or never")
                }
                scheme = s
            } else if json["add_prefix_space"]?.bool == false {
                scheme = .never
            }
            return .metaspace(replacement: replacement, prependScheme: scheme, split: json["split"]?.bool ?? true)
        case "Whitespace": return .whitespace
        case "WhitespaceSplit": return .whitespaceSplit
        case "Punctuation": return .punctuation(try behavior(default: .isolated))
        case "BertPreTokenizer": return .bert
        case "Sequence":
            guard let items = json["pretokenizers"]?.array else {
                throw TokenizerError("\(component): no 'pretokenizers'")
            }
            return .sequence(try items.map { try parse($0, file: file) })
        default:
            throw TokenizerError(
                "\(file): pre_tokenizer '\(type)' is not supported (supported: ByteLevel, Split, Digits, Metaspace, "
                    + "Whitespace, WhitespaceSplit, Punctuation, BertPreTokenizer, Sequence)")
        }
    }

    /// Whether the words come out in GPT-2's byte-level alphabet.
    var isByteLevel: Bool {
        switch self {
        case .byteLevel: return true
        case .sequence(let items): return items.contains { $0.isByteLevel }
        default: return false
        }
    }

    /// The words of `pieces`.
    ///
    /// - Throws: ``TokenizerError`` when a `Split` regular expression exceeds its step limit (``WorkLimits``).
    func apply(_ pieces: [Piece]) throws -> [Piece] {
        switch self {
        case .sequence(let items):
            return try items.reduce(pieces) { try $1.apply($0) }
        default:
            var out: [Piece] = []
            out.reserveCapacity(pieces.count * 2)
            for piece in pieces { try apply(piece, into: &out) }
            return out
        }
    }

    private func splitting(_ piece: Piece, _ ranges: [Range<String.Index>], into out: inout [Piece]) {
        for range in ranges {
            out.append(
                Piece(
                    text: String(piece.text.unicodeScalars[range]),
                    atStart: piece.atStart && range.lowerBound == piece.text.startIndex))
        }
    }

    private func apply(_ piece: Piece, into out: inout [Piece]) throws {
        let text = piece.text
        switch self {
        case .byteLevel(let addPrefixSpace, let useRegex):
            var p = piece
            if addPrefixSpace && text.utf8.first != 0x20 { p.text = " " + text }
            guard !p.text.isEmpty else { return }
            guard useRegex else {
                out.append(Piece(text: ByteLevelAlphabet.encode(p.text), atStart: p.atStart))
                return
            }
            let scalars = Array(p.text.unicodeScalars)
            var bytes: [UInt8] = []
            for range in GPT2Splitter.matches(scalars) {
                bytes.removeAll(keepingCapacity: true)
                for scalar in scalars[range] {
                    for b in UTF8.encode(scalar)! { bytes.append(contentsOf: ByteLevelAlphabet.byteToUTF8[Int(b)]) }
                }
                out.append(
                    Piece(text: String(decoding: bytes, as: UTF8.self), atStart: p.atStart && range.lowerBound == 0))
            }
        case .split(let pattern, let behavior, let invert):
            splitting(piece, behavior.split(text, on: try pattern.matches(in: text), invert: invert), into: &out)
        case .digits(let individual):
            let ranges = try (individual ? SplitBehavior.isolated : .contiguous).split(
                text, on: Pattern.scalar(UnicodeClasses.isNumeric).matches(in: text))
            splitting(piece, ranges, into: &out)
        case .metaspace(let replacement, let scheme, let split):
            var t = text.replacingLiteral(" ", with: replacement)
            let startsWithReplacement = t.utf8.starts(with: replacement.utf8)
            if !startsWithReplacement && (scheme == .always || (scheme == .first && piece.atStart)) {
                t = replacement + t
            }
            let p = Piece(text: t, atStart: piece.atStart)
            if split {
                let r = replacement.unicodeScalars.first!
                try splitting(
                    p, SplitBehavior.mergedWithNext.split(t, on: Pattern.scalar({ $0 == r }).matches(in: t)), into: &out
                )
            } else if !t.isEmpty {
                out.append(p)
            }
        case .whitespace:
            let pattern = Pattern.regex(Self.wordRegex, source: #"\w+|[^\w\s]+"#, component: "pre_tokenizer Whitespace")
            let words = try pattern.matches(in: text)
            splitting(piece, SplitBehavior.removed.split(text, on: words, invert: true), into: &out)
        case .whitespaceSplit:
            try splitting(
                piece,
                SplitBehavior.removed.split(text, on: Pattern.scalar(UnicodeClasses.isWhitespace).matches(in: text)),
                into: &out)
        case .punctuation(let behavior):
            try splitting(
                piece, behavior.split(text, on: Pattern.scalar(UnicodeClasses.isPunctuation).matches(in: text)),
                into: &out)
        case .bert:
            var words: [Piece] = []
            try splitting(
                piece,
                SplitBehavior.removed.split(text, on: Pattern.scalar(UnicodeClasses.isWhitespace).matches(in: text)),
                into: &words)
            for w in words {
                try splitting(
                    w,
                    SplitBehavior.isolated.split(
                        w.text, on: Pattern.scalar(UnicodeClasses.isPunctuation).matches(in: w.text)), into: &out)
            }
        case .sequence:
            out.append(contentsOf: try apply([piece]))
        }
    }
}
