import Foundation
import Testing

import Checkpoints

/// The manifest's SHA-256 against the test vectors of FIPS 180-4 (NIST's examples), fed whole and in pieces that
/// straddle the 64-byte blocks.
@Suite("SHA-256 of the output manifest")
struct SHA256Tests {
    static func digest(_ bytes: [UInt8], pieces: Int) -> String {
        var hash = SHA256()
        var start = 0
        while start < bytes.count {
            let end = min(bytes.count, start + pieces)
            bytes[start..<end].withUnsafeBytes { hash.update($0) }
            start = end
        }
        return hash.finish()
    }

    @Test(arguments: [1, 7, 63, 64, 65, 997, 1 << 20])
    func nistVectors(pieces: Int) {
        #expect(
            Self.digest([], pieces: pieces) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(
            Self.digest(Array("abc".utf8), pieces: pieces)
                == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(
            Self.digest(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8), pieces: pieces)
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(
            Self.digest([UInt8](repeating: 0x61, count: 1_000_000), pieces: pieces)
                == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }
}
