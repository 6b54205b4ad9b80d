import Checkpoints
import Foundation
import Testing

/// The manifest's XXH64 against the `xxhash` package (`xxhash.xxh64(data).hexdigest()`, seed 0, xxhash 3.x),
/// fed whole and in pieces that straddle its 32-byte stripes.
@Suite("XXH64 of the output manifest")
struct XXH64Tests {
    static func digest(_ bytes: [UInt8], pieces: Int) -> String {
        var hash = XXH64()
        var start = 0
        while start < bytes.count {
            let end = min(bytes.count, start + pieces)
            bytes[start..<end].withUnsafeBytes { hash.update($0) }
            start = end
        }
        return hash.finish()
    }

    /// (message, xxhash.xxh64(message).hexdigest()).
    static let references: [([UInt8], String)] = [
        ([], "ef46db3751d8e999"),
        (Array("a".utf8), "d24ec4f1a98c6e5b"),
        (Array("abc".utf8), "44bc2cf5ad770999"),
        (Array("Nobody inspects the spammish repetition".utf8), "fbcea83c8a378bf1"),
        (Array((0..<4).flatMap { _ in (0...255).map { UInt8($0) } }) + Array("xyz".utf8), "e146cb31b65bc21a"),
        ([UInt8](repeating: 0x61, count: 1_000_000), "dc483aaa9b4fdc40"),
    ]

    @Test(arguments: [1, 7, 31, 32, 33, 997, 1 << 20])
    func matchesTheXxhashPackage(pieces: Int) {
        for (message, expected) in Self.references {
            #expect(Self.digest(message, pieces: pieces) == expected, "\(message.count) bytes")
        }
    }
}
