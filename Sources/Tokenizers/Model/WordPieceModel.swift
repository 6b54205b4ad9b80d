/// The library's `WordPiece` model: greedy longest-match-first over a word's scalars, pieces after the first
/// looked up with `continuing_subword_prefix` (`##`); a word with an unmatched rest, or longer than
/// `max_input_chars_per_word` scalars, is the single `unk_token`.
struct WordPieceModel: Sendable {
    let vocabulary: Vocabulary
    let unknownID: Int
    let prefix: [UInt8]
    let maxCharacters: Int

    init(_ json: JSONValue, file: String) throws {
        let component = "\(file): model WordPiece"
        vocabulary = try Vocabulary(json["vocab"], component: component)
        let unknown = json["unk_token"]?.string ?? "[UNK]"
        guard let id = vocabulary.id(unknown) else {
            throw TokenizerError("\(component): unk_token '\(unknown)' is not in the vocabulary")
        }
        unknownID = id
        prefix = Array((json["continuing_subword_prefix"]?.string ?? "##").utf8)
        maxCharacters = json["max_input_chars_per_word"]?.int ?? 100
    }

    func encode(_ word: String) -> [Int] {
        let scalars = Array(word.unicodeScalars)
        if scalars.count > maxCharacters { return [unknownID] }
        let pieces = scalars.map { Array(String(Character($0)).utf8) }
        var ids: [Int] = []
        var start = 0
        var candidate: [UInt8] = []
        while start < scalars.count {
            var end = scalars.count
            var found: Int? = nil
            while start < end {
                candidate.removeAll(keepingCapacity: true)
                if start > 0 { candidate.append(contentsOf: prefix) }
                for k in start..<end { candidate.append(contentsOf: pieces[k]) }
                if let id = vocabulary.id(bytes: candidate) {
                    found = id
                    break
                }
                end -= 1
            }
            guard let id = found else { return [unknownID] }
            ids.append(id)
            start = end
        }
        return ids
    }
}
