/// Token strings and ids, compared byte for byte (two canonically equivalent tokens stay two tokens).
struct Vocabulary: Sendable {
    private(set) var ids: [[UInt8]: Int] = [:]
    /// id → token, `nil` where the model has no token of that id.
    private(set) var tokens: [String?] = []

    init() {}

    init(_ json: JSONValue?, component: String) throws {
        guard let members = json?.members else { throw TokenizerError("\(component): 'vocab' is not an object") }
        ids.reserveCapacity(members.count)
        for (token, value) in members {
            guard let id = value.int, id >= 0, id < 50_000_000 else {
                throw TokenizerError("\(component): vocabulary entry '\(token)' has no valid id")
            }
            insert(token, id)
        }
    }

    mutating func insert(_ token: String, _ id: Int) {
        ids[Array(token.utf8)] = id
        if id >= tokens.count { tokens.append(contentsOf: repeatElement(nil, count: id + 1 - tokens.count)) }
        tokens[id] = token
    }

    func id(_ token: String) -> Int? { ids[Array(token.utf8)] }
    func id(bytes: [UInt8]) -> Int? { ids[bytes] }
    func token(_ id: Int) -> String? { id >= 0 && id < tokens.count ? tokens[id] : nil }
    var count: Int { ids.count }
}
