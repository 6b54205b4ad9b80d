import Foundation
import SafeTensors

extension Checkpoint {
    /// A fingerprint of the weight files: 64-bit FNV-1a over, for each file in order, its name, its size, its
    /// modification time (nanoseconds), its whole safetensors header (names, dtypes, shapes, offsets) and 16
    /// samples of 64 KiB spread evenly over the data, written as 16 hex digits.
    ///
    /// It tells one checkpoint from another (a report of a different model, a re-saved fine-tune) without reading
    /// gigabytes. The samples cover content; the modification time covers an in-place edit between the samples
    /// (any write updates it). A copy keeps the fingerprint only when it keeps the modification time (`cp -a`,
    /// `rsync -a`); otherwise the report is refused as stale, which is safe. It is not a cryptographic hash: an
    /// edit that also restores the modification time on purpose is not noticed.
    public func fingerprint() throws -> String {
        try Self.fingerprint(files: files)
    }

    /// ``fingerprint()`` of weight files `files`, in order.
    package static func fingerprint(files: [SafeTensorsFile]) throws -> String {
        var hash = FNV1a()
        for file in files {
            let size = file.byteCount
            hash.add(Data(file.url.lastPathComponent.utf8))
            hash.add(Data(String(size).utf8))
            var status = stat()
            if stat(file.url.path, &status) == 0 {
                hash.add(Data("\(status.st_mtim.tv_sec).\(status.st_mtim.tv_nsec)".utf8))
            }
            try hash.add(file, 0..<file.dataStart)
            let dataSize = size - file.dataStart
            let sample = 65_536
            for k in 0..<16 where dataSize > 0 {
                let offset = file.dataStart + (dataSize > sample ? (dataSize - sample) * k / 15 : 0)
                try hash.add(file, offset..<min(offset + sample, size))
                if dataSize <= sample { break }
            }
        }
        return String(format: "%016llx", hash.value)
    }
}

/// 64-bit FNV-1a.
struct FNV1a {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func add(_ data: Data) {
        data.withUnsafeBytes { add($0) }
    }

    /// Adds bytes `range` of `file`.
    mutating func add(_ file: SafeTensorsFile, _ range: Range<Int>) throws {
        let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: range.count, alignment: 8)
        defer { bytes.deallocate() }
        if let base = bytes.baseAddress { try file.read(fileBytes: range, into: base) }
        add(UnsafeRawBufferPointer(bytes))
    }

    mutating func add(_ bytes: UnsafeRawBufferPointer) {
        for byte in bytes {
            value ^= UInt64(byte)
            value = value &* 0x0000_0100_0000_01b3
        }
    }
}
