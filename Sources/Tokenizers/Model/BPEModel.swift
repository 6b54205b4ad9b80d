import Foundation

/// Byte-pair encoding as the library's `BPE` model applies it to one word.
///
/// The word's scalars (with `continuing_subword_prefix` on all but the first and `end_of_word_suffix` on the last)
/// become tokens — through `<0xXX>` byte tokens when `byte_fallback` is set and the scalar is not in the
/// vocabulary, else the `unk_token` (consecutive unknowns fused into one with `fuse_unk`). Then the adjacent pair of
/// lowest merge rank is merged, leftmost first among equal ranks, until no pair has a merge (`Word::merge_all`).
/// With `ignore_merges`, a word that is itself in the vocabulary is that one token.
final class BPEModel: @unchecked Sendable {
    let vocabulary: Vocabulary
    /// (left id, right id) packed as `left << 32 | right` → (rank, merged id).
    let merges: [UInt64: (rank: Int32, id: Int32)]
    let unknown: String?
    let unknownID: Int?
    let fuseUnknown: Bool
    let byteFallback: Bool
    let ignoreMerges: Bool
    let prefix: String?
    let suffix: String?
    /// `<0xXX>` ids, when every byte has one.
    let byteTokenIDs: [Int?]

    private var cache: [[UInt8]: [Int32]] = [:]
    private let lock = NSLock()

    init(_ json: JSONValue, file: String) throws {
        let component = "\(file): model BPE"
        vocabulary = try Vocabulary(json["vocab"], component: component)
        unknown = json["unk_token"]?.string
        fuseUnknown = json["fuse_unk"]?.bool ?? false
        byteFallback = json["byte_fallback"]?.bool ?? false
        ignoreMerges = json["ignore_merges"]?.bool ?? false
        prefix = json["continuing_subword_prefix"]?.string
        suffix = json["end_of_word_suffix"]?.string
        if let d = json["dropout"]?.double, d > 0 {
            throw TokenizerError(
                "\(component): dropout \(d) makes encodings random; only dropout null or 0 is supported")
        }
        if let unknown {
            guard let id = vocabulary.id(unknown) else {
                throw TokenizerError("\(component): unk_token '\(unknown)' is not in the vocabulary")
            }
            unknownID = id
        } else {
            unknownID = nil
        }
        let vocabulary = self.vocabulary
        byteTokenIDs = (0..<256).map { b in vocabulary.id(String(format: "<0x%02X>", b)) }

        guard let list = json["merges"]?.array else { throw TokenizerError("\(component): no 'merges' list") }
        var merges: [UInt64: (rank: Int32, id: Int32)] = [:]
        merges.reserveCapacity(list.count)
        let prefixLength = prefix?.utf8.count ?? 0
        for (rank, entry) in list.enumerated() {
            let pair: (String, String)
            if let s = entry.string {
                let parts = s.split(separator: " ", omittingEmptySubsequences: false)
                guard parts.count == 2 else {
                    throw TokenizerError("\(component): merge \(rank) '\(s)' is not two tokens")
                }
                pair = (String(parts[0]), String(parts[1]))
            } else if let a = entry.array, a.count == 2, let l = a[0].string, let r = a[1].string {
                pair = (l, r)
            } else {
                throw TokenizerError("\(component): merge \(rank) is neither \"a b\" nor [\"a\", \"b\"]")
            }
            guard let left = vocabulary.id(pair.0), let right = vocabulary.id(pair.1) else {
                throw TokenizerError(
                    "\(component): merge \(rank) '\(pair.0) \(pair.1)' uses a token missing from the vocabulary")
            }
            var merged = Array(pair.0.utf8)
            merged.append(contentsOf: Array(pair.1.utf8).dropFirst(prefixLength))
            guard let id = vocabulary.id(bytes: merged) else {
                throw TokenizerError(
                    "\(component): merge \(rank) '\(pair.0) \(pair.1)' makes a token missing from the vocabulary")
            }
            let key = UInt64(left) << 32 | UInt64(right)
            merges[key] = (Int32(rank), Int32(id))  // a repeated pair keeps its last rank, as the library's map does
        }
        self.merges = merges
    }

    /// The ids of one word (a non-empty piece after pre-tokenization).
    func encode(_ word: String) -> [Int] {
        let key = Array(word.utf8)
        lock.lock()
        let cached = cache[key]
        lock.unlock()
        if let cached { return cached.map(Int.init) }
        let ids = compute(word)
        lock.lock()
        if cache.count > 200_000 { cache.removeAll(keepingCapacity: true) }
        cache[key] = ids.map(Int32.init)
        lock.unlock()
        return ids
    }

    private func compute(_ word: String) -> [Int] {
        if word.isEmpty { return [] }
        if ignoreMerges, let id = vocabulary.id(word) { return [id] }
        var symbols: [Int32] = []
        var pendingUnknown: Int? = nil  // an unk not yet added (fused with the next unknowns when fuse_unk)
        let scalars = Array(word.unicodeScalars)
        var bytes: [UInt8] = []
        for (i, scalar) in scalars.enumerated() {
            bytes.removeAll(keepingCapacity: true)
            if i > 0, let prefix { bytes.append(contentsOf: prefix.utf8) }
            bytes.append(contentsOf: String(Character(scalar)).utf8)
            if i == scalars.count - 1, let suffix { bytes.append(contentsOf: suffix.utf8) }
            if let id = vocabulary.id(bytes: bytes) {
                if let u = pendingUnknown { symbols.append(Int32(u)); pendingUnknown = nil }
                symbols.append(Int32(id))
                continue
            }
            if byteFallback {
                let fallback = bytes.map { byteTokenIDs[Int($0)] }
                if fallback.allSatisfy({ $0 != nil }) {
                    // As the library does: the byte tokens go in before a pending unknown is flushed.
                    symbols.append(contentsOf: fallback.map { Int32($0!) })
                    continue
                }
            }
            if let unknownID {
                if pendingUnknown != nil {
                    if !fuseUnknown { symbols.append(Int32(unknownID)) }
                }
                pendingUnknown = unknownID
            }
        }
        if let u = pendingUnknown { symbols.append(Int32(u)) }
        return mergeAll(symbols).map(Int.init)
    }

    /// `Word::merge_all` without dropout: a min-heap of (rank, position) over a linked list of symbols.
    private func mergeAll(_ initial: [Int32]) -> [Int32] {
        var ids = initial
        let n = ids.count
        if n < 2 { return ids }
        var next = Array(1...n)  // n means none
        var prev = Array(-1..<(n - 1))
        var alive = [Bool](repeating: true, count: n)
        var heap = MergeHeap()
        for i in 0..<(n - 1) {
            if let m = merges[UInt64(UInt32(bitPattern: ids[i])) << 32 | UInt64(UInt32(bitPattern: ids[i + 1]))] {
                heap.push(.init(rank: m.rank, position: Int32(i), id: m.id))
            }
        }
        while let top = heap.pop() {
            let pos = Int(top.position)
            guard alive[pos], next[pos] < n else { continue }
            let right = next[pos]
            guard let m = merges[UInt64(UInt32(bitPattern: ids[pos])) << 32 | UInt64(UInt32(bitPattern: ids[right]))],
                m.id == top.id
            else { continue }
            ids[pos] = top.id
            alive[right] = false
            next[pos] = next[right]
            if next[right] < n { prev[next[right]] = pos }
            if prev[pos] >= 0 {
                let p = prev[pos]
                if let m = merges[UInt64(UInt32(bitPattern: ids[p])) << 32 | UInt64(UInt32(bitPattern: ids[pos]))] {
                    heap.push(.init(rank: m.rank, position: Int32(p), id: m.id))
                }
            }
            if next[pos] < n {
                if let m = merges[
                    UInt64(UInt32(bitPattern: ids[pos])) << 32 | UInt64(UInt32(bitPattern: ids[next[pos]]))]
                {
                    heap.push(.init(rank: m.rank, position: Int32(pos), id: m.id))
                }
            }
        }
        var out: [Int32] = []
        out.reserveCapacity(n)
        var i = 0
        while i < n {
            out.append(ids[i])
            i = next[i]
        }
        return out
    }
}

/// A binary min-heap of candidate merges ordered by (rank, position).
struct MergeHeap {
    struct Entry {
        var rank: Int32
        var position: Int32
        var id: Int32
        func less(_ o: Entry) -> Bool { rank != o.rank ? rank < o.rank : position < o.position }
    }
    private var items: [Entry] = []

    mutating func push(_ e: Entry) {
        items.append(e)
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard items[i].less(items[parent]) else { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> Entry? {
        guard let first = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var smallest = i
                if l < items.count && items[l].less(items[smallest]) { smallest = l }
                if r < items.count && items[r].less(items[smallest]) { smallest = r }
                if smallest == i { break }
                items.swapAt(i, smallest)
                i = smallest
            }
        }
        return first
    }
}
