/// The library's `WordLevel` model: a word is its vocabulary id, else the `unk_token`'s.
struct WordLevelModel: Sendable {
    let vocabulary: Vocabulary
    let unknown: String?
    let unknownID: Int?

    init(_ json: JSONValue, file: String) throws {
        let vocabulary = try Vocabulary(json["vocab"], component: "\(file): model WordLevel")
        let unknown = json["unk_token"]?.string
        self.vocabulary = vocabulary
        self.unknown = unknown
        unknownID = unknown.flatMap { vocabulary.id($0) }
    }

    func encode(_ word: String) throws -> [Int] {
        if let id = vocabulary.id(word) { return [id] }
        guard let unknownID else {
            throw TokenizerError(
                "word '\(word)' is not in the WordLevel vocabulary, which has no unk_token '\(unknown ?? "")'")
        }
        return [unknownID]
    }
}
