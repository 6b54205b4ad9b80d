/// A `post_processor` of `tokenizer.json`: the special tokens added around a single sequence when special tokens
/// are asked for (`add_special_tokens=True`, the library's default). `ByteLevel` changes only offsets.
indirect enum PostProcessor: Sendable {
    /// The ids and tokens before and after the sequence (`single` of `TemplateProcessing`, or Bert/Roberta's
    /// `cls` … `sep`).
    case template(before: [(Int, String)], after: [(Int, String)])
    case byteLevel
    case sequence([PostProcessor])

    static func parse(_ json: JSONValue, file: String) throws -> PostProcessor {
        let type = json["type"]?.string ?? "?"
        let component = "\(file): post_processor \(type)"
        switch type {
        case "TemplateProcessing":
            guard let single = json["single"]?.array else { throw TokenizerError("\(component): no 'single' template") }
            var before: [(Int, String)] = [], after: [(Int, String)] = []
            var seenSequence = false
            for piece in single {
                if let sequence = piece["Sequence"] {
                    guard sequence["id"]?.string == "A", !seenSequence else {
                        throw TokenizerError("\(component): a single template must hold sequence A once")
                    }
                    seenSequence = true
                } else if let name = piece["SpecialToken"]?["id"]?.string {
                    guard let special = json["special_tokens"]?[name], let ids = special["ids"]?.array,
                        let tokens = special["tokens"]?.array, ids.count == tokens.count
                    else { throw TokenizerError("\(component): special token '\(name)' is not in special_tokens") }
                    let pairs = zip(ids, tokens).compactMap { i, t in i.int.flatMap { id in t.string.map { (id, $0) } }
                    }
                    if seenSequence { after += pairs } else { before += pairs }
                } else {
                    throw TokenizerError("\(component): template piece is neither Sequence nor SpecialToken")
                }
            }
            return .template(before: before, after: after)
        case "BertProcessing", "RobertaProcessing":
            guard let cls = json["cls"]?.array, cls.count == 2, let clsToken = cls[0].string, let clsID = cls[1].int,
                let sep = json["sep"]?.array, sep.count == 2, let sepToken = sep[0].string, let sepID = sep[1].int
            else { throw TokenizerError("\(component): 'cls' and 'sep' must be [token, id]") }
            return .template(before: [(clsID, clsToken)], after: [(sepID, sepToken)])
        case "ByteLevel": return .byteLevel
        case "Sequence":
            guard let items = json["processors"]?.array else { throw TokenizerError("\(component): no 'processors'") }
            return .sequence(try items.map { try parse($0, file: file) })
        default:
            throw TokenizerError(
                "\(file): post_processor '\(type)' is not supported (supported: TemplateProcessing, BertProcessing, "
                    + "RobertaProcessing, ByteLevel, Sequence)")
        }
    }

    func apply(_ encoding: inout (ids: [Int], tokens: [String])) {
        switch self {
        case .template(let before, let after):
            encoding.ids = before.map(\.0) + encoding.ids + after.map(\.0)
            encoding.tokens = before.map(\.1) + encoding.tokens + after.map(\.1)
        case .byteLevel: break
        case .sequence(let items): for item in items { item.apply(&encoding) }
        }
    }
}
