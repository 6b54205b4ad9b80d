import Foundation
import SafeTensors

/// The fixed start of a GGUF file (llama.cpp's format), read only to recognise one and say how to convert it.
///
/// Layout (ggml's `gguf.c`, little-endian): the magic `GGUF`, a UInt32 version, then the tensor count and the
/// metadata key-value count — UInt64 each from version 2, UInt32 in version 1. Nothing else is read: MetaMerge
/// never loads GGUF weights.
public struct GGUFHeader: Sendable, Equatable {
    public let version: UInt32
    /// The tensor count the header states, when the file is long enough to hold it.
    public let tensorCount: UInt64?

    /// The header of the file at `url`, or `nil` when it does not start with `GGUF` (or cannot be read, or is not a
    /// regular file: opening a FIFO would wait for a writer).
    public static func read(_ url: URL) -> GGUFHeader? {
        guard FileErrorReason.notRegularFile(url) == nil else { return nil }
        guard let handle = try? FileHandle(forReadingFrom: url) else { return nil }
        defer { try? handle.close() }
        guard let data = try? handle.read(upToCount: 16), data.count >= 8 else { return nil }
        let bytes = [UInt8](data)
        guard bytes[0..<4] == [0x47, 0x47, 0x55, 0x46] else { return nil }
        func little(_ range: Range<Int>) -> UInt64 {
            range.reversed().reduce(0) { $0 << 8 | UInt64(bytes[$1]) }
        }
        let version = UInt32(little(4..<8))
        var count: UInt64?
        if version == 1, bytes.count >= 12 {
            count = little(8..<12)
        } else if version >= 2, bytes.count >= 16 {
            count = little(8..<16)
        }
        return GGUFHeader(version: version, tensorCount: count)
    }

    /// The error for a GGUF file found at `url` where safetensors were expected: what it is and how to convert it.
    public func error(at url: URL) -> CheckpointError {
        let tensors = tensorCount.map { ", \($0) tensors" } ?? ""
        let folder = url.deletingLastPathComponent().path
        return CheckpointError(
            .ggufFile, url: url,
            "is a GGUF file (llama.cpp format, version \(version)\(tensors)), not safetensors; MetaMerge reads "
                + "safetensors checkpoints only. Convert it first: in Python (transformers + torch), "
                + "AutoModelForCausalLM.from_pretrained(\"\(folder)\", gguf_file=\"\(url.lastPathComponent)\")"
                + ".save_pretrained(OUT_DIR) (and the same with AutoTokenizer); or, for a Llama-family F32 / F16 / "
                + "BF16 / Q8_0 / Q4 file, without torch: python scripts/fixtures/convert_smollm2.py OUT_DIR --gguf "
                + "\(url.path) (the converter `make smollm2` runs)")
    }
}
