import Foundation

/// A `normalizer` of `tokenizer.json`: a rewrite of the text before it is split, applied to each piece between
/// added tokens.
indirect enum Normalizer: Sendable {
    case nfc, nfd, nfkc, nfkd
    /// Each scalar's full lowercase mapping (no context: a final sigma stays σ, as in the library).
    case lowercase
    /// `prepend` before a non-empty text.
    case prepend(String)
    /// Every match of the pattern replaced by the content; `component` names it in errors.
    case replace(Pattern, String, component: String)
    /// `White_Space` scalars removed at the left and/or right end.
    case strip(left: Bool, right: Bool)
    /// Scalars of category Mn, Mc, Me removed.
    case stripAccents
    /// BERT's: control characters removed and whitespace made ' ', spaces around CJK ideographs, accents stripped
    /// (after NFD), lowercase — each as configured.
    case bert(cleanText: Bool, chineseChars: Bool, stripAccents: Bool, lowercase: Bool)
    /// The normalizers in order; `component` names the sequence in errors.
    case sequence([Normalizer], component: String)

    static func parse(_ json: JSONValue, file: String) throws -> Normalizer {
        let type = json["type"]?.string ?? "?"
        let component = "\(file): normalizer \(type)"
        switch type {
        case "NFC": return .nfc
        case "NFD": return .nfd
        case "NFKC": return .nfkc
        case "NFKD": return .nfkd
        case "Lowercase": return .lowercase
        case "Prepend":
            guard let p = json["prepend"]?.string else { throw TokenizerError("\(component): no 'prepend'") }
            return .prepend(p)
        case "Replace":
            return .replace(
                try Pattern.parse(json["pattern"], component: component), json["content"]?.string ?? "",
                component: component)
        case "Strip":
            return .strip(left: json["strip_left"]?.bool ?? true, right: json["strip_right"]?.bool ?? true)
        case "StripAccents": return .stripAccents
        case "BertNormalizer":
            let lowercase = json["lowercase"]?.bool ?? true
            return .bert(
                cleanText: json["clean_text"]?.bool ?? true, chineseChars: json["handle_chinese_chars"]?.bool ?? true,
                stripAccents: json["strip_accents"]?.bool ?? lowercase, lowercase: lowercase)
        case "Sequence":
            guard let items = json["normalizers"]?.array else { throw TokenizerError("\(component): no 'normalizers'") }
            return .sequence(try items.map { try parse($0, file: file) }, component: component)
        default:
            throw TokenizerError(
                "\(file): normalizer '\(type)' is not supported (supported: NFC, NFD, NFKC, NFKD, Lowercase, Prepend, "
                    + "Replace, Strip, StripAccents, BertNormalizer, Sequence)")
        }
    }

    /// `text` normalized.
    ///
    /// - Throws: ``TokenizerError`` naming the component when a step's output would exceed
    ///   ``WorkLimits/outputBytes(inputBytes:)`` of `text`, or a regular expression its step limit.
    func apply(_ text: String) throws -> String {
        try apply(text, inputBytes: text.utf8.count)
    }

    /// `text` normalized, within the output limit of an original input of `inputBytes` bytes.
    private func apply(_ text: String, inputBytes: Int) throws -> String {
        switch self {
        case .nfc: return text.precomposedStringWithCanonicalMapping
        case .nfd: return text.decomposedStringWithCanonicalMapping
        case .nfkc: return text.precomposedStringWithCompatibilityMapping
        case .nfkd: return text.decomposedStringWithCompatibilityMapping
        case .lowercase: return Self.lowercased(text)
        case .prepend(let p): return text.isEmpty ? text : p + text
        case .replace(let pattern, let content, let component):
            return try pattern.replace(in: text, with: content, component: component, inputBytes: inputBytes)
        case .strip(let left, let right):
            var scalars = Substring(text).unicodeScalars
            if left { while let f = scalars.first, UnicodeClasses.isWhitespace(f) { scalars.removeFirst() } }
            if right { while let l = scalars.last, UnicodeClasses.isWhitespace(l) { scalars.removeLast() } }
            return String(scalars)
        case .stripAccents:
            var out = String.UnicodeScalarView()
            for s in text.unicodeScalars where !UnicodeClasses.isCombiningMark(s) { out.append(s) }
            return String(out)
        case .bert(let cleanText, let chineseChars, let stripAccents, let lowercase):
            var out = String.UnicodeScalarView()
            for s in text.unicodeScalars {
                if cleanText {
                    if s.value == 0 || s.value == 0xFFFD || UnicodeClasses.isControl(s) { continue }
                    if UnicodeClasses.isWhitespace(s) {
                        out.append(" ")
                        continue
                    }
                }
                if chineseChars && UnicodeClasses.isChineseCharacter(s) {
                    out.append(" ")
                    out.append(s)
                    out.append(" ")
                } else {
                    out.append(s)
                }
            }
            var result = String(out)
            if stripAccents {
                // BERT's strip removes nonspacing marks (Mn) only, after NFD.
                var kept = String.UnicodeScalarView()
                for s in result.decomposedStringWithCanonicalMapping.unicodeScalars
                where s.properties.generalCategory != .nonspacingMark { kept.append(s) }
                result = String(kept)
            }
            if lowercase { result = Self.lowercased(result) }
            return result
        case .sequence(let items, let component):
            var result = text
            for item in items {
                result = try item.apply(result, inputBytes: inputBytes)
                let limit = WorkLimits.outputBytes(inputBytes: inputBytes)
                if result.utf8.count > limit {
                    throw TokenizerError(
                        "\(component): its \(item.kind) step's output of \(result.utf8.count) bytes exceeds the "
                            + WorkLimits.describeOutputLimit(inputBytes: inputBytes))
                }
            }
            return result
        }
    }

    /// The normalizer's type as `tokenizer.json` names it.
    var kind: String {
        switch self {
        case .nfc: "NFC"
        case .nfd: "NFD"
        case .nfkc: "NFKC"
        case .nfkd: "NFKD"
        case .lowercase: "Lowercase"
        case .prepend: "Prepend"
        case .replace: "Replace"
        case .strip: "Strip"
        case .stripAccents: "StripAccents"
        case .bert: "BertNormalizer"
        case .sequence: "Sequence"
        }
    }

    static func lowercased(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for s in text.unicodeScalars {
            if s.value < 0x80 {
                out.append((0x41...0x5A).contains(s.value) ? Unicode.Scalar(s.value + 32)! : s)
            } else {
                out.append(contentsOf: s.properties.lowercaseMapping.unicodeScalars)
            }
        }
        return String(out)
    }
}
