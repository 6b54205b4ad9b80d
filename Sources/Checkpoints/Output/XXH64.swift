import Foundation
import Interruption

/// XXH64 (xxHash, 64-bit, seed 0) of a byte stream, for the output manifest: checked against the `xxhash`
/// package's `xxh64` in the tests.
///
/// Why not SHA-256: the manifest guards against changes made by people and tools, not by an adversary, and it is
/// computed over every byte a merge writes and read again before `--overwrite` replaces it; a portable SHA-256 in
/// Swift runs at about 0.2 GB/s on this project's machine (a 14 GB merge would spend over a minute hashing at
/// each end), XXH64 at several GB/s — faster than the disk. A 64-bit hash together with the size misses an
/// accidental change with probability about 2⁻⁶⁴.
package struct XXH64 {
    private static let prime1: UInt64 = 0x9E37_79B1_85EB_CA87
    private static let prime2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    private static let prime3: UInt64 = 0x1656_67B1_9E37_79F9
    private static let prime4: UInt64 = 0x85EB_CA77_C2B2_AE63
    private static let prime5: UInt64 = 0x27D4_EB2F_1656_67C5

    private var v1 = prime1 &+ prime2
    private var v2 = prime2
    private var v3: UInt64 = 0
    private var v4 = 0 &- prime1
    /// Bytes not yet consumed by a 32-byte stripe (fewer than 32).
    private var pending: [UInt8] = []
    private var byteCount: UInt64 = 0

    package init() {}

    /// Adds `bytes` to the message.
    package mutating func update(_ bytes: UnsafeRawBufferPointer) {
        byteCount &+= UInt64(bytes.count)
        var rest = bytes[...]
        if !pending.isEmpty {
            let take = min(32 - pending.count, rest.count)
            pending.append(contentsOf: rest.prefix(take))
            rest = rest.dropFirst(take)
            guard pending.count == 32 else { return }
            pending.withUnsafeBytes { stripe($0.baseAddress!) }
            pending.removeAll(keepingCapacity: true)
        }
        let stripes = rest.count / 32
        if stripes > 0, let base = bytes.baseAddress {
            for index in 0..<stripes { stripe(base + rest.startIndex + 32 * index) }
        }
        pending.append(contentsOf: rest.dropFirst(32 * stripes))
    }

    /// The hash of everything added, as 16 lowercase hex digits (xxHash's canonical big-endian form).
    package func finish() -> String {
        var hash: UInt64
        if byteCount >= 32 {
            hash = rotl(v1, 1) &+ rotl(v2, 7) &+ rotl(v3, 12) &+ rotl(v4, 18)
            for v in [v1, v2, v3, v4] {
                hash = (hash ^ round(0, v)) &* Self.prime1 &+ Self.prime4
            }
        } else {
            hash = Self.prime5
        }
        hash &+= byteCount
        pending.withUnsafeBytes { tail in
            var offset = 0
            while offset + 8 <= tail.count {
                hash ^= round(0, UInt64(littleEndian: tail.loadUnaligned(fromByteOffset: offset, as: UInt64.self)))
                hash = rotl(hash, 27) &* Self.prime1 &+ Self.prime4
                offset += 8
            }
            if offset + 4 <= tail.count {
                let word = UInt32(littleEndian: tail.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
                hash ^= UInt64(word) &* Self.prime1
                hash = rotl(hash, 23) &* Self.prime2 &+ Self.prime3
                offset += 4
            }
            while offset < tail.count {
                hash ^= UInt64(tail[offset]) &* Self.prime5
                hash = rotl(hash, 11) &* Self.prime1
                offset += 1
            }
        }
        hash ^= hash >> 33
        hash &*= Self.prime2
        hash ^= hash >> 29
        hash &*= Self.prime3
        hash ^= hash >> 32
        return String(format: "%016llx", hash)
    }

    /// The XXH64 of the file at `url`, read in 4 MiB chunks; polls ``Interruption`` between chunks.
    package static func hex(ofFileAt url: URL) throws -> String {
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        var hash = XXH64()
        while true {
            try Interruption.check()
            guard let chunk = try handle.read(upToCount: 1 << 22), !chunk.isEmpty else { break }
            chunk.withUnsafeBytes { hash.update($0) }
        }
        return hash.finish()
    }

    @inline(__always) private mutating func stripe(_ p: UnsafeRawPointer) {
        v1 = round(v1, UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 0, as: UInt64.self)))
        v2 = round(v2, UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
        v3 = round(v3, UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 16, as: UInt64.self)))
        v4 = round(v4, UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 24, as: UInt64.self)))
    }

    @inline(__always) private func round(_ accumulator: UInt64, _ input: UInt64) -> UInt64 {
        rotl(accumulator &+ input &* Self.prime2, 31) &* Self.prime1
    }

    @inline(__always) private func rotl(_ x: UInt64, _ n: UInt64) -> UInt64 { (x << n) | (x >> (64 - n)) }
}
