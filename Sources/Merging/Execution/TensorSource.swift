import Checkpoints
import Foundation
import SafeTensors

/// Where one input's data for one output tensor lives: a byte offset in a weight file and a storage dtype.
///
/// Reading is `pread` into caller-owned, reused buffers (``SafeTensorsFile/read(fileBytes:into:)``) rather than
/// through a memory mapping: mapped pages that were touched stay in the process's resident set until unmapped, so
/// a pass over a whole model through a mapping would grow RSS to the model's size; `pread` copies through the page
/// cache and keeps RSS at the size of the buffers.
struct TensorSource: Sendable, Hashable {
    /// Index into ``WeightFiles``.
    let file: Int
    /// The stored tensor's name (for a tied `lm_head`, the embedding's).
    let storedName: String
    /// Absolute file offset of the tensor's first byte.
    let offset: Int
    let dtype: DType
    /// The stored shape (the output may use a leading-rows prefix of it).
    let shape: [Int]
    /// Index into ``WeightFiles``' LoRA updates, when an adapter changes this tensor as it is read.
    var update: Int? = nil
}

/// The weight files a merge reads, each the input's own open ``SafeTensorsFile`` (no second descriptor), indexed
/// once per resolved path. Filled on one thread while the plan is built (``source(_:in:)``); during execution the
/// workers only read it, so the mutable index is never touched by two threads at once.
final class WeightFiles: @unchecked Sendable {
    private var files: [SafeTensorsFile] = []
    private var indexByPath: [String: Int] = [:]
    private var updates: [LoRAUpdate] = []

    /// The source of tensor `name` as stored in `checkpoint` (tied `lm_head`: the embedding).
    func source(_ name: String, in checkpoint: Checkpoint) throws -> TensorSource? {
        var stored = name
        if checkpoint.info(name) == nil {
            guard TensorGroup(tensorName: name) == .lmHead, checkpoint.lmHeadIsTied,
                let embedding = checkpoint.embeddingName
            else { return nil }
            stored = embedding
        }
        guard let file = checkpoint.file(of: stored) else { return nil }
        return source(stored, in: file)
    }

    /// The source of tensor `name` in `checkpoint` with `adapter`'s update added when it is read (when the adapter
    /// changes the stored tensor).
    func source(_ name: String, in checkpoint: Checkpoint, adapter: LoRAAdapter?) throws -> TensorSource? {
        guard var source = try source(name, in: checkpoint) else { return nil }
        if let adapter, adapter.updateShape(for: source.storedName) != nil, source.shape.count == 2 {
            source.update = updates.count
            updates.append(
                LoRAUpdate(adapter: adapter, name: source.storedName, rows: source.shape[0], columns: source.shape[1]))
        }
        return source
    }

    /// Adds `source`'s LoRA update, if any, to elements `elements` decoded into `values` (``LoRAUpdate``).
    func addUpdate(
        _ source: TensorSource, elements: Range<Int>, to values: UnsafeMutablePointer<Float>,
        cache: LoRAFactorCache?
    ) throws {
        guard let index = source.update else { return }
        try updates[index].add(
            elements: elements, to: values, storage: source.dtype, index: index, cache: cache ?? LoRAFactorCache())
    }

    /// The source of tensor `name` in `file`, which is added (once per resolved path) if new; nil if `file` has no
    /// such tensor.
    func source(_ name: String, in file: SafeTensorsFile) -> TensorSource? {
        guard let info = file.info(name) else { return nil }
        let path = file.url.resolvingSymlinksInPath().path
        let index = indexByPath[path] ?? files.count
        if index == files.count {
            files.append(file)
            indexByPath[path] = index
        }
        return TensorSource(
            file: index, storedName: name, offset: file.dataStart + info.dataOffsets.lowerBound, dtype: info.dtype,
            shape: info.shape)
    }

    /// Reads `byteCount` bytes at `offset` of file `file` into `destination`.
    ///
    /// - Throws: ``SafeTensorsError`` naming the file and the tensor (`.dataSizeMismatch` when the file was
    ///   truncated while merging).
    func read(file: Int, offset: Int, byteCount: Int, into destination: UnsafeMutableRawPointer) throws {
        try files[file].read(fileBytes: offset..<(offset + byteCount), into: destination)
    }

    /// Reads elements `elements` of `source` as Float32 into `destination`, through `scratch` (at least
    /// `elements.count × 8` bytes), rounding to `loadDtype` when it is narrower than the storage dtype (MergeKit
    /// casts inputs to `dtype` on load).
    ///
    /// A LoRA update of `source` is added after decoding, before that rounding (`factors` caches its factors).
    func readFloat32(
        _ source: TensorSource, elements: Range<Int>, into destination: UnsafeMutablePointer<Float>,
        scratch: UnsafeMutableRawPointer, loadDtype: DType?, factors: LoRAFactorCache? = nil
    ) throws {
        let size = source.dtype.byteSize
        let count = elements.count
        guard count > 0 else { return }
        let offset = source.offset + elements.lowerBound * size
        if source.dtype == .f32 {
            try read(file: source.file, offset: offset, byteCount: count * 4, into: destination)
        } else {
            try read(file: source.file, offset: offset, byteCount: count * size, into: scratch)
            FloatConversion.decode(source.dtype, from: scratch, count: count, into: destination)
        }
        try addUpdate(source, elements: elements, to: destination, cache: factors)
        if let loadDtype, loadDtype != source.dtype {
            Rounding.round(destination, count: count, to: loadDtype)
        }
    }
}

/// Rounding Float32 values to a narrower floating dtype and back (what `tensor.to(dtype)` does to the values).
enum Rounding {
    static func round(_ values: UnsafeMutablePointer<Float>, count: Int, to dtype: DType) {
        switch dtype {
        case .bf16:
            for i in 0..<count {
                values[i] = FloatConversion.float(fromBF16: FloatConversion.bf16Bits(from: values[i]))
            }
        case .f16:
            for i in 0..<count { values[i] = FloatConversion.float(fromF16: FloatConversion.f16Bits(from: values[i])) }
        default:
            break  // F32 and F64 hold every Float32 value.
        }
    }
}
