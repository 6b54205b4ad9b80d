import Foundation

/// A `decoder` of `tokenizer.json`: turns tokens back into text (`decode_chain`, then joined).
indirect enum Decoder: Sendable {
    case byteLevel
    case metaspace(replacement: String, prependScheme: PrependScheme)
    case byteFallback
    case fuse
    case strip(content: Unicode.Scalar, start: Int, stop: Int)
    /// Every match of the pattern replaced by the content, in each token; `component` names it in errors.
    case replace(Pattern, String, component: String)
    case wordPiece(prefix: String, cleanup: Bool)
    case bpe(suffix: String)
    case sequence([Decoder])

    static func parse(_ json: JSONValue, file: String) throws -> Decoder {
        let type = json["type"]?.string ?? "?"
        let component = "\(file): decoder \(type)"
        switch type {
        case "ByteLevel": return .byteLevel
        case "Metaspace":
            var scheme = PrependScheme.always
            if let name = json["prepend_scheme"]?.string {
                scheme = PrependScheme(rawValue: name) ?? .always
            } else if json["add_prefix_space"]?.bool == false {
                scheme = .never
            }
            return .metaspace(replacement: json["replacement"]?.string ?? "\u{2581}", prependScheme: scheme)
        case "ByteFallback": return .byteFallback
        case "Fuse": return .fuse
        case "Strip":
            guard let content = json["content"]?.string?.unicodeScalars.first else {
                throw TokenizerError("\(component): no 'content'")
            }
            return .strip(content: content, start: json["start"]?.int ?? 0, stop: json["stop"]?.int ?? 0)
        case "Replace":
            return .replace(
                try Pattern.parse(json["pattern"], component: component), json["content"]?.string ?? "",
                component: component)
        case "WordPiece":
            return .wordPiece(prefix: json["prefix"]?.string ?? "##", cleanup: json["cleanup"]?.bool ?? true)
        case "BPEDecoder": return .bpe(suffix: json["suffix"]?.string ?? "</w>")
        case "Sequence":
            guard let items = json["decoders"]?.array else { throw TokenizerError("\(component): no 'decoders'") }
            return .sequence(try items.map { try parse($0, file: file) })
        default:
            throw TokenizerError(
                "\(file): decoder '\(type)' is not supported (supported: ByteLevel, Metaspace, ByteFallback, Fuse, "
                    + "Strip, Replace, WordPiece, BPEDecoder, Sequence)")
        }
    }

    /// The library's `decode_chain`: the tokens rewritten by this decoder.
    ///
    /// - Throws: ``TokenizerError`` naming the component when the tokens would grow past
    ///   ``WorkLimits/outputBytes(inputBytes:)`` of their total bytes, or a regular expression exceeds its step limit.
    func decodeChain(_ tokens: [String]) throws -> [String] {
        try decodeChain(tokens, inputBytes: tokens.reduce(0) { $0 + $1.utf8.count })
    }

    private func decodeChain(_ tokens: [String], inputBytes: Int) throws -> [String] {
        switch self {
        case .byteLevel:
            var bytes: [UInt8] = []
            for token in tokens {
                let mapped = token.unicodeScalars.map { ByteLevelAlphabet.scalarToByte[$0.value] }
                if mapped.allSatisfy({ $0 != nil }) { bytes += mapped.map { $0! } } else { bytes += Array(token.utf8) }
            }
            return [String(decoding: bytes, as: UTF8.self)]
        case .metaspace(let replacement, let scheme):
            return tokens.enumerated().map { i, token in
                var t = token.replacingLiteral(replacement, with: " ")
                if i == 0 && scheme != .never && t.utf8.first == 0x20 { t.removeFirst() }
                return t
            }
        case .byteFallback:
            var out: [String] = []
            var pending: [UInt8] = []
            func flush() {
                guard !pending.isEmpty else { return }
                if let s = String(validating: pending, as: UTF8.self) {
                    out.append(s)
                } else {
                    out += Array(repeating: "\u{FFFD}", count: pending.count)
                }
                pending.removeAll()
            }
            for token in tokens {
                let u = Array(token.utf8)
                if u.count == 6, u.starts(with: Array("<0x".utf8)), u[5] == UInt8(ascii: ">"),
                    let b = UInt8(String(decoding: u[3..<5], as: UTF8.self), radix: 16)
                {
                    pending.append(b)
                } else {
                    flush()
                    out.append(token)
                }
            }
            flush()
            return out
        case .fuse:
            return [tokens.joined()]
        case .strip(let content, let start, let stop):
            return tokens.map { token in
                var scalars = Array(token.unicodeScalars)
                var cut = 0
                while cut < start && cut < scalars.count && scalars[cut] == content { cut += 1 }
                scalars.removeFirst(cut)
                var end = 0
                while end < stop && end < scalars.count && scalars[scalars.count - 1 - end] == content { end += 1 }
                scalars.removeLast(end)
                var view = String.UnicodeScalarView()
                view.append(contentsOf: scalars)
                return String(view)
            }
        case .replace(let pattern, let content, let component):
            return try tokens.map { token in
                try pattern.replace(
                    in: token, with: content, component: component, inputBytes: inputBytes)
            }
        case .wordPiece(let prefix, let cleanup):
            return tokens.enumerated().map { i, token in
                var t = token
                if i != 0 {
                    if t.utf8.starts(with: prefix.utf8) {
                        t = String(t.utf8.dropFirst(prefix.utf8.count))!
                    } else {
                        t = " " + t
                    }
                }
                if cleanup {
                    for (a, b) in [
                        (" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"),
                        (" 'm", "'m"), (" do not", " don't"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re"),
                    ] {
                        t = t.replacingLiteral(a, with: b)
                    }
                }
                return t
            }
        case .bpe(let suffix):
            return tokens.enumerated().map { i, token in
                token.replacingLiteral(suffix, with: i == tokens.count - 1 ? "" : " ")
            }
        case .sequence(let items):
            var result = tokens
            let limit = WorkLimits.outputBytes(inputBytes: inputBytes)
            for item in items {
                result = try item.decodeChain(result, inputBytes: inputBytes)
                let bytes = result.reduce(0) { $0 + $1.utf8.count }
                if bytes > limit {
                    throw TokenizerError(
                        "decoder Sequence: the output of its \(item.kind) step holds \(bytes) bytes, over the "
                            + WorkLimits.describeOutputLimit(inputBytes: inputBytes))
                }
            }
            return result
        }
    }

    /// The decoder's type as `tokenizer.json` names it.
    var kind: String {
        switch self {
        case .byteLevel: "ByteLevel"
        case .metaspace: "Metaspace"
        case .byteFallback: "ByteFallback"
        case .fuse: "Fuse"
        case .strip: "Strip"
        case .replace: "Replace"
        case .wordPiece: "WordPiece"
        case .bpe: "BPEDecoder"
        case .sequence: "Sequence"
        }
    }
}
