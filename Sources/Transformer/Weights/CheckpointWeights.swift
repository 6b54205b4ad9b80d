import Checkpoints
import SafeTensors

/// The tensors of one checkpoint, read from its memory-mapped weight files.
///
/// Float32 tensors whose data is 4-byte aligned are handed to the forward pass in place (no copy); other dtypes
/// (BF16, F16, F64) are converted into the caller's buffer.
public struct CheckpointWeights: WeightProvider {
    public let checkpoint: Checkpoint

    public init(_ checkpoint: Checkpoint) {
        self.checkpoint = checkpoint
    }

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
        if checkpoint.info(name)?.dtype == .f32, let file = checkpoint.file(of: name) {
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

    /// `madvise(MADV_WILLNEED)` over the tensor's bytes: the kernel reads it ahead in large sequential requests.
    public func prefetch(_ name: String) {
        guard let info = checkpoint.info(name) else { return }
        checkpoint.file(of: name)?.prefetch(name, elements: 0..<info.elementCount)
    }

    /// `madvise(MADV_DONTNEED)` + `posix_fadvise(POSIX_FADV_DONTNEED)` over the tensor's bytes.
    public func evict(_ name: String) {
        guard let info = checkpoint.info(name) else { return }
        checkpoint.file(of: name)?.evict(name, elements: 0..<info.elementCount)
    }

    private func checkElements(_ name: String, _ elements: Range<Int>) throws {
        guard let info = checkpoint.info(name) else {
            throw TransformerError(.missingTensor, "\(checkpoint.directory.path): tensor \(name) is not stored")
        }
        guard elements.lowerBound >= 0, elements.upperBound <= info.elementCount else {
            throw TransformerError(
                .shapeMismatch,
                "\(checkpoint.directory.path): tensor \(name) has \(info.elementCount) elements; elements \(elements) were asked for"
            )
        }
    }
}
