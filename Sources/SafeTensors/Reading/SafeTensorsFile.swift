import Foundation

/// A safetensors file, opened once and validated when opened: the one way this package's modules read weights.
///
/// Opening reads only the header; tensor bytes are read when asked for, so a file larger than RAM can be read
/// tensor by tensor. Siblings (analysis, merging, the forward pass) read with the `package` API: a tensor's
/// elements or a raw byte range copied into their own buffer (``read(_:elements:into:)``,
/// ``read(fileBytes:into:)``), and advice to the kernel about what they read next or are done with
/// (``advise(_:_:elements:)``). The descriptor is held for the object's life and closed with it. Instances are
/// immutable and can be shared between threads. The file must not be truncated or rewritten in place while open
/// (replacing it by rename, as ``SafeTensorsWriter`` and careful writers do, is safe); a read that finds it
/// shorter throws `.dataSizeMismatch` naming the file and the tensor.
///
/// Validation at open (each failure a ``SafeTensorsError`` whose ``SafeTensorsError/kind`` names the rule):
/// - at least 8 bytes; the header length (little-endian UInt64) ≤ 100,000,000 and within the file;
/// - the header is UTF-8 and strict JSON (duplicate keys refused, unlike most JSON readers, so two readers can
///   never see different tensors), a JSON object;
/// - `__metadata__`, if present, is an object of strings (or `null`, read as empty);
/// - every other key is a tensor: `dtype` a known ``DType`` name, `shape` non-negative integers,
///   `data_offsets` `[begin, end]` with begin ≤ end, and end − begin equal to the shape's byte count, computed with
///   overflow checks;
/// - sorted by offset, the tensors start at 0 and cover the data section to the file's last byte, without hole or
///   overlap.
///
/// Accepted as the reference `safetensors` reader accepts them: an empty tensor name, zero-size tensors, 0-d
/// tensors, a header length that is not a multiple of 8, whitespace around the JSON, unknown fields in an entry,
/// tensors listed in any order.
public final class SafeTensorsFile: Sendable {
    /// The file's location.
    public let url: URL
    /// The tensors, in data-offset order (zero-size tensors at one offset ordered by name).
    public let tensors: [TensorInfo]
    /// The `__metadata__` strings (empty when absent).
    public let metadata: [String: String]

    /// The open file: descriptor, `pread`, advice, and the mapping the header is parsed from and bytes are lent from.
    let storage: OpenFile
    /// The file offset of the data section (8 + header length): the one place sibling modules learn it.
    package let dataStart: Int
    private let indexByName: [String: Int]

    /// Opens and validates the file at `url`.
    ///
    /// - Throws: ``SafeTensorsError`` naming the file and, for a bad entry, the tensor.
    public init(url: URL) throws {
        self.url = url
        storage = try OpenFile(url: url)
        let header = try Header(decoding: storage.bytes, url: url)
        tensors = header.tensors
        metadata = header.metadata
        dataStart = header.dataStart
        var index: [String: Int] = [:]
        index.reserveCapacity(tensors.count)
        for (i, info) in tensors.enumerated() {
            index[info.name] = i
        }
        indexByName = index
    }

    /// The file's size in bytes.
    package var byteCount: Int { storage.bytes.count }

    /// The entry of the tensor called `name`, or nil if the file has none.
    public func info(_ name: String) -> TensorInfo? {
        indexByName[name].map { tensors[$0] }
    }

    /// The entry of `name`, or a `.tensorNotFound` error.
    func requireInfo(_ name: String) throws(SafeTensorsError) -> TensorInfo {
        guard let info = info(name) else {
            throw SafeTensorsError(
                .tensorNotFound, file: url, tensor: name, "not found (the file has \(tensors.count) tensors)")
        }
        return info
    }
}
