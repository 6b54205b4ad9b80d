import Checkpoints
import Foundation
import SafeTensors

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Where one input's data for one output tensor lives: a byte offset in a weight file and a storage dtype.
///
/// Reading is `pread` into caller-owned, reused buffers rather than through the file's memory mapping: mapped
/// pages that were touched stay in the process's resident set until unmapped, so a pass over a whole model
/// through the mapping would grow RSS to the model's size; `pread` copies through the page cache and keeps RSS at
/// the size of the buffers.
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
}

/// The open weight files of a merge's inputs, read with `pread`.
final class WeightFiles: @unchecked Sendable {
    private(set) var urls: [URL] = []
    private var descriptors: [Int32] = []
    private var dataStarts: [Int] = []
    private var indexByPath: [String: Int] = [:]

    deinit {
        for descriptor in descriptors { close(descriptor) }
    }

    /// The source of tensor `name` as stored in `checkpoint` (tied `lm_head`: the embedding).
    func source(_ name: String, in checkpoint: Checkpoint) throws -> TensorSource? {
        var stored = name
        if checkpoint.info(name) == nil {
            guard TensorGroup(tensorName: name) == .lmHead, checkpoint.lmHeadIsTied,
                let embedding = checkpoint.embeddingName
            else { return nil }
            stored = embedding
        }
        guard let file = checkpoint.file(of: stored), let info = file.info(stored) else { return nil }
        let index = try openFile(file)
        return TensorSource(
            file: index, storedName: stored, offset: dataStarts[index] + info.dataOffsets.lowerBound, dtype: info.dtype,
            shape: info.shape)
    }

    private func openFile(_ file: SafeTensorsFile) throws -> Int {
        try openFile(file.url, dataStart: file.dataStart)
    }

    /// Opens `url` for `pread` (once per resolved path); `dataStart` is recorded for tensors located in it by name.
    func openFile(_ url: URL, dataStart: Int = 0) throws -> Int {
        let path = url.resolvingSymlinksInPath().path
        if let index = indexByPath[path] { return index }
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw CheckpointError(
                .unreadableFile, url: url, "cannot open for reading: \(String(cString: strerror(errno)))")
        }
        descriptors.append(descriptor)
        dataStarts.append(dataStart)
        urls.append(url)
        indexByPath[path] = descriptors.count - 1
        return descriptors.count - 1
    }

    /// Reads `byteCount` bytes at `offset` of file `file` into `destination`.
    func read(file: Int, offset: Int, byteCount: Int, into destination: UnsafeMutableRawPointer) throws {
        var done = 0
        while done < byteCount {
            let got = pread(descriptors[file], destination + done, byteCount - done, off_t(offset + done))
            if got < 0 {
                if errno == EINTR { continue }
                throw CheckpointError(
                    .unreadableFile, url: urls[file], "read failed: \(String(cString: strerror(errno)))")
            }
            if got == 0 {
                throw CheckpointError(.unreadableFile, url: urls[file], "ended early (truncated while merging?)")
            }
            done += got
        }
    }

    /// Reads elements `elements` of `source` as Float32 into `destination`, through `scratch` (at least
    /// `elements.count × 8` bytes), rounding to `loadDtype` when it is narrower than the storage dtype (MergeKit
    /// casts inputs to `dtype` on load).
    func readFloat32(
        _ source: TensorSource, elements: Range<Int>, into destination: UnsafeMutablePointer<Float>,
        scratch: UnsafeMutableRawPointer, loadDtype: DType?
    ) throws {
        let size = source.dtype.byteSize
        let count = elements.count
        guard count > 0 else { return }
        if source.dtype == .f32 {
            try read(
                file: source.file, offset: source.offset + elements.lowerBound * 4, byteCount: count * 4,
                into: destination)
        } else {
            try read(
                file: source.file, offset: source.offset + elements.lowerBound * size, byteCount: count * size,
                into: scratch)
            FloatConversion.decode(source.dtype, from: scratch, count: count, into: destination)
        }
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
