import Checkpoints
import Foundation
import SafeTensors

/// The tensors of one checkpoint, read through its weight files' ``SafeTensorsFile`` (the package's one reader).
///
/// Float32 tensors whose data is 4-byte aligned are lent to the forward pass in place from the file's mapping
/// (``SafeTensorsFile/withRawBytes(_:_:)``, no copy); everything else (BF16, F16, F64, unaligned F32) is read with
/// `pread` and converted into the caller's buffer (``SafeTensorsFile/readFloat32(_:elements:into:)``).
///
/// Map or pread, chosen by measurement (same release binary, a temporary switch; CPU seconds user + sys of the
/// whole test process, `OPENBLAS_NUM_THREADS=1`, files in the page cache, 2-core machine shared with other builds,
/// load average 2–5; details in `docs/performance.md`):
/// - `ForwardBenchmark` on SmolLM2-135M (F32, 540 MB; 3 × 7 forward passes + a combined θ0 + 0.5τ model), four runs
///   each: lending through the mapping 7.54–7.78 s (sys 0.70–0.73), `pread` into scratch 8.62–10.32 s
///   (sys 2.34–3.29) — the copy costs about 17 %;
/// - `ProbeBenchmark` on a SmolLM2 family (F32, base + 2 tasks, 4 prompts × 16 tokens, 11 points), three runs:
///   mapping 5.41–6.44 s, `pread` 5.40–6.39 s — a tie;
/// - `ProbeBenchmark` on the TinyLlama-shaped BF16 family (6.6 GB, 2 prompts × 8 tokens, 9 points), where BF16 is
///   converted either way: decoding from the mapping 14.37–16.52 s, `pread` + decode 14.32–19.89 s — a tie.
/// So F32 is lent from the mapping (it wins), and conversions read with `pread` (no loss, resident memory bounded
/// by the buffers — peak RSS 105 MB against 6.1 GB of mapped pages on the BF16 family — and an error rather than
/// SIGBUS if a file is truncated while open).
public struct CheckpointWeights: WeightProvider {
    public let checkpoint: Checkpoint

    public init(_ checkpoint: Checkpoint) {
        self.checkpoint = checkpoint
    }

    /// The checkpoint's directory.
    public var location: String? { checkpoint.directory.path }

    public func shape(of name: String) -> [Int]? {
        checkpoint.info(name)?.shape
    }

    public func load(_ name: String, elements: Range<Int>, into buffer: UnsafeMutableBufferPointer<Float>) throws {
        try checkElements(name, elements)
        try checkpoint.readFloat32(name, elements: elements, into: buffer)
    }

    public func withFloat32<R>(
        _ name: String, elements: Range<Int>, scratch: UnsafeMutableBufferPointer<Float>,
        _ body: (UnsafeBufferPointer<Float>) throws -> R
    ) throws -> R {
        try checkElements(name, elements)
        if lendsFloat32(name), let file = checkpoint.file(of: name) {
            let direct: R? = try file.withRawBytes(name) { raw -> R? in
                let start = raw.baseAddress.map { $0 + elements.lowerBound * MemoryLayout<Float>.stride }
                guard let start, Int(bitPattern: start) % MemoryLayout<Float>.alignment == 0,
                    raw.count >= elements.upperBound * MemoryLayout<Float>.stride
                else { return nil }
                // The mapping is read-only and outlives `body`; Float32 data is little-endian as on every
                // platform this runs on.
                let floats = start.assumingMemoryBound(to: Float.self)
                return try body(UnsafeBufferPointer(start: floats, count: elements.count))
            }
            if let direct { return direct }
        }
        precondition(scratch.count >= elements.count, "scratch buffer too small for \(name)")
        let target = UnsafeMutableBufferPointer(rebasing: scratch[0..<elements.count])
        try checkpoint.readFloat32(name, elements: elements, into: target)
        return try body(UnsafeBufferPointer(target))
    }

    public func lendsFloat32(_ name: String) -> Bool {
        checkpoint.info(name)?.dtype == .f32
    }

    /// Asks the kernel to start reading the tensor's bytes now (``ReadAdvice/willNeed``), in large sequential
    /// requests, while the engine works on the tensor before it.
    public func prefetch(_ name: String) {
        checkpoint.file(of: name)?.advise(.willNeed, name)
    }

    /// Tells the kernel the tensor's bytes will not be read again soon (``ReadAdvice/doneWith``).
    public func evict(_ name: String) {
        checkpoint.file(of: name)?.advise(.doneWith, name)
    }

    private func checkElements(_ name: String, _ elements: Range<Int>) throws {
        guard let info = checkpoint.info(name) else {
            throw TransformerError(.missingTensor, "\(checkpoint.directory.path): tensor \(name) is not stored")
        }
        guard elements.lowerBound >= 0, elements.upperBound <= info.elementCount else {
            throw TransformerError(
                .shapeMismatch,
                "\(checkpoint.directory.path): tensor \(name) has \(info.elementCount) elements; elements \(elements) "
                + "were asked for"
            )
        }
    }
}
