/// Reads choices from a fuzz input, front to back; past its end every read gives 0 (so every input is usable).
struct FuzzInput {
    private let bytes: UnsafeRawBufferPointer
    private var index = 0

    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    mutating func byte() -> UInt8 {
        guard index < bytes.count else { return 0 }
        defer { index += 1 }
        return bytes[index]
    }

    /// A number in 0...upper.
    mutating func int(upTo upper: Int) -> Int {
        Int(byte()) % (upper + 1)
    }

    mutating func int64() -> Int64 {
        switch byte() % 4 {
        case 0: return Int64(byte())
        case 1: return -Int64(byte())
        default:
            var value: UInt64 = 0
            for _ in 0..<8 { value = value << 8 | UInt64(byte()) }
            return Int64(bitPattern: value)
        }
    }

    mutating func double() -> Double {
        let specials: [Double] = [
            0, -0.0, 1, -1, 0.5, .nan, .infinity, -.infinity, .greatestFiniteMagnitude, .leastNonzeroMagnitude,
        ]
        let choice = Int(byte())
        if choice < specials.count * 16 { return specials[choice % specials.count] }
        var bits: UInt64 = 0
        for _ in 0..<8 { bits = bits << 8 | UInt64(byte()) }
        return Double(bitPattern: bits)
    }

    /// A short string: one of `words` or up to 15 bytes of the input (made valid UTF-8).
    mutating func string(_ words: [String]) -> String {
        let choice = Int(byte())
        if !words.isEmpty, choice < 192 { return words[choice % words.count] }
        let length = Int(byte()) % 16
        var raw: [UInt8] = []
        for _ in 0..<length { raw.append(byte()) }
        return String(decoding: raw, as: UTF8.self)
    }
}
