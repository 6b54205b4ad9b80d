import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Streams a safetensors file: the header is written when the writer is created (every name, dtype and shape is
/// known up front), then each tensor's data is appended, one tensor at a time, in header order, and ``finish()``
/// checks that every tensor is complete and closes the file. Only the chunk being appended is ever in memory.
///
/// The layout reproduces the reference writer (`safetensors` 0.8): the data section holds the tensors sorted by
/// the Rust crate's `Dtype` order descending (U64, I64, F64, C64, F32, U32, I32, BF16, F16, U16, I16, FP8s, I8,
/// U8, FP6/FP4, BOOL — so wider types come first and stay aligned), then by name (UTF-8 bytes); the header
/// JSON is compact, lists `__metadata__` first and then the tensors in that order, and is padded with spaces to
/// a multiple of 8 bytes. ``tensors`` gives that order: append in it. For the same tensors and a single metadata
/// key the file is byte-identical to `safetensors.torch.save_file(…, metadata={"format": "pt"})`.
///
/// `__metadata__` always includes `"format": "pt"` (what `transformers` expects), merged with the caller's
/// metadata; a caller's `"format"` wins. The reference writer orders several metadata keys arbitrarily; here
/// they are sorted.
///
/// The file is written at the given URL directly (write to a temporary sibling and rename, if the result must
/// appear atomically). A file already there is replaced by a new one (unlinked, not truncated, so readers that
/// have it mapped are unaffected). Any error — a failed write, or misuse such as data for the wrong tensor, too many
/// bytes,
/// or ``finish()`` before every tensor is complete — closes and removes the partial file, and the writer then
/// refuses further calls (`.writerClosed`). A writer released without ``finish()`` also removes its file.
///
/// Files of 4 MiB and more are written with direct I/O where the file system allows it (``StagedFileOutput``:
/// two 8 MiB staging buffers, one written by a background thread while the other fills), else buffered; the
/// bytes are the same either way.
///
/// Not thread-safe: use from one thread at a time.
public final class SafeTensorsWriter {
    /// The output location.
    public let url: URL
    /// The declared tensors in the order their data must be appended (the header's offset order), with their
    /// `dataOffsets`.
    public let tensors: [TensorInfo]
    /// The header's metadata: the caller's, plus `"format": "pt"` unless the caller set `"format"`.
    public let metadata: [String: String]

    private let indexByName: [String: Int]
    private var descriptor: Int32 = -1
    private var state: State = .open
    /// Index in `tensors` of the tensor receiving data.
    private var current = 0
    /// Bytes of `tensors[current]` written so far.
    private var written = 0
    private var scratch: UnsafeMutableRawBufferPointer?
    /// The file's byte stream (direct I/O where possible), once the file is created.
    private var output: StagedFileOutput?
    /// Sees every byte written, in file order (``init(url:tensors:metadata:output:observer:)``).
    private let observer: ((UnsafeRawBufferPointer) -> Void)?

    private enum State { case open, finished, failed }

    /// Elements converted per write when appending Float32 data.
    private static let conversionChunk = 1 << 16

    /// Validates the tensor list, creates (or truncates) the file at `url` and writes the header.
    ///
    /// - Parameters:
    ///   - tensors: every tensor the file will hold, in any order. Names must be unique and not `__metadata__`
    ///     (the empty name is allowed, as by the reference); dimensions non-negative; `[]` is a 0-d tensor of one
    ///     element.
    ///   - metadata: string metadata for `__metadata__`, merged with `"format": "pt"`.
    /// - Throws: ``SafeTensorsError`` `.invalidTensorList` or `.writeFailed`.
    public convenience init(
        url: URL, tensors: [(name: String, dtype: DType, shape: [Int])], metadata: [String: String] = [:]
    )
        throws
    {
        try self.init(url: url, tensors: tensors, metadata: metadata, output: .direct)
    }

    /// As ``init(url:tensors:metadata:)``, writing the file as `output` says (buffered, or direct I/O where
    /// possible: see ``StagedFileOutput``; the bytes are the same). `observer` sees every byte of the file, header
    /// first, in file order, as it is written (e.g. to hash the file without reading it back: direct I/O leaves
    /// nothing in the page cache).
    package init(
        url: URL, tensors: [(name: String, dtype: DType, shape: [Int])], metadata: [String: String] = [:],
        output mode: StagedFileOutput.Mode, observer: ((UnsafeRawBufferPointer) -> Void)? = nil
    )
        throws
    {
        self.url = url
        self.observer = observer
        var seen = Set<String>()
        for tensor in tensors {
            guard tensor.name != "__metadata__" else {
                throw SafeTensorsError(
                    .invalidTensorList, file: url, tensor: tensor.name, "name is reserved for the header's metadata")
            }
            guard seen.insert(tensor.name).inserted else {
                throw SafeTensorsError(
                    .invalidTensorList, file: url, tensor: tensor.name, "name declared twice; expected each name once")
            }
            guard tensor.shape.allSatisfy({ $0 >= 0 }) else {
                throw SafeTensorsError(
                    .invalidTensorList, file: url, tensor: tensor.name,
                    "shape \(tensor.shape) has a negative dimension")
            }
        }
        let ordered = tensors.sorted { a, b in
            a.dtype.referenceOrderRank != b.dtype.referenceOrderRank
                ? a.dtype.referenceOrderRank > b.dtype.referenceOrderRank
                : a.name.utf8.lexicographicallyPrecedes(b.name.utf8)
        }
        var infos: [TensorInfo] = []
        infos.reserveCapacity(ordered.count)
        var offset = 0
        for tensor in ordered {
            var elements = 1
            var overflow = false
            for size in tensor.shape {
                let product = elements.multipliedReportingOverflow(by: size)
                elements = product.partialValue
                overflow = overflow || product.overflow
            }
            let bits = elements.multipliedReportingOverflow(by: tensor.dtype.bitSize)
            let end = offset.addingReportingOverflow(bits.partialValue / 8)
            guard !overflow, !bits.overflow, !end.overflow else {
                throw SafeTensorsError(
                    .invalidTensorList, file: url, tensor: tensor.name,
                    "shape \(tensor.shape) of \(tensor.dtype.rawValue) is too large to address")
            }
            guard bits.partialValue % 8 == 0 else {
                throw SafeTensorsError(
                    .invalidTensorList, file: url, tensor: tensor.name,
                    "shape \(tensor.shape) of \(tensor.dtype.rawValue) is not a whole number of bytes")
            }
            infos.append(
                TensorInfo(
                    name: tensor.name, dtype: tensor.dtype, shape: tensor.shape, dataOffsets: offset..<end.partialValue)
            )
            offset = end.partialValue
        }
        self.tensors = infos
        indexByName = Dictionary(uniqueKeysWithValues: infos.enumerated().map { ($1.name, $0) })
        var merged = ["format": "pt"]
        merged.merge(metadata) { _, caller in caller }
        self.metadata = merged

        let header = HeaderEncoder.encode(tensors: infos, metadata: merged)
        guard header.count <= Header.maxLength else {
            throw SafeTensorsError(
                .invalidTensorList, file: url,
                "header would be \(header.count) bytes; readers refuse more than \(Header.maxLength) (split into "
                + "shards)"
            )
        }
        // Replace, never truncate, an existing file: a process that has it memory-mapped keeps its old contents
        // instead of crashing with SIGBUS.
        if unlink(url.path) != 0 && errno != ENOENT {
            state = .failed
            throw SafeTensorsError(
                .writeFailed, file: url, "cannot replace the existing file: \(String(cString: strerror(errno)))")
        }
        descriptor = open(url.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            state = .failed
            throw SafeTensorsError(
                .writeFailed, file: url, "cannot create file: \(String(cString: strerror(errno)))")
        }
        output = StagedFileOutput(
            descriptor: descriptor, url: url, expectedBytes: 8 + header.count + offset, mode: mode)
        var prefix = UInt64(header.count).littleEndian
        try withUnsafeBytes(of: &prefix) { try writeAll($0) }
        try header.withUnsafeBytes { try writeAll($0) }
    }

    deinit {
        if state == .open {
            abandon()
        }
        scratch?.deallocate()
    }

    /// Appends the next `raw.count` bytes of tensor `name`, stored as given (little-endian, C order). Works for
    /// every dtype; a tensor's data may arrive in any number of chunks.
    ///
    /// - Throws: `.unexpectedTensor` if `name` is not the tensor whose data comes next (see ``tensors``),
    ///   `.tooMuchData` past the tensor's byte count, `.writerClosed`, `.writeFailed`. Any error removes the file.
    public func append(_ name: String, raw: UnsafeRawBufferPointer) throws {
        _ = try prepareAppend(name, byteCount: raw.count)
        try writeAll(raw)
        written += raw.count
    }

    /// Appends the next `chunk.count` elements of floating tensor `name`, converted from Float32 to its dtype
    /// (F64 exactly; F16 and BF16 rounded to nearest, ties to even, overflowing to ±inf, NaN kept as NaN).
    ///
    /// - Throws: as ``append(_:raw:)``, and `.notFloatingPoint` if the tensor's dtype is not F64/F32/F16/BF16.
    public func append(_ name: String, float32 chunk: UnsafeBufferPointer<Float>) throws {
        try checkOpen()
        guard let index = indexByName[name] else {
            throw fail(.tensorNotFound, tensor: name, "was not declared to the writer")
        }
        let dtype = tensors[index].dtype
        guard dtype.isFloatingPoint else {
            throw fail(
                .notFloatingPoint, tensor: name,
                "has dtype \(dtype.rawValue); Float32 data converts only to F64/F32/F16/BF16 (append raw bytes instead)"
            )
        }
        let size = dtype.byteSize
        _ = try prepareAppend(name, byteCount: chunk.count * size)
        guard let source = chunk.baseAddress else { return }
        if dtype == .f32 {
            try writeAll(UnsafeRawBufferPointer(chunk))
            written += chunk.count * 4
            return
        }
        let buffer = scratchBuffer()
        var done = 0
        while done < chunk.count {
            let n = min(Self.conversionChunk, chunk.count - done)
            FloatConversion.encode(dtype, from: source + done, count: n, into: buffer.baseAddress!)
            try writeAll(UnsafeRawBufferPointer(rebasing: buffer[0..<(n * size)]))
            written += n * size
            done += n
        }
    }

    /// Checks that every tensor received all its bytes and closes the file.
    ///
    /// - Throws: `.incompleteData` naming the first incomplete tensor, `.writerClosed` if already finished or
    ///   failed, `.writeFailed`. Any error removes the file.
    public func finish() throws {
        try checkOpen()
        skipCompleted()
        if current < tensors.count {
            let info = tensors[current]
            throw fail(
                .incompleteData, tensor: info.name,
                "finish() called after \(written) of the tensor's \(info.byteCount) bytes; every tensor must be "
                + "complete"
            )
        }
        do {
            try output?.finish()
        } catch let error as SafeTensorsError {
            throw fail(.writeFailed, tensor: nil, error.detail)
        }
        let status = close(descriptor)
        descriptor = -1
        guard status == 0 else {
            throw fail(.writeFailed, tensor: nil, "closing the file failed: \(String(cString: strerror(errno)))")
        }
        state = .finished
    }

    // MARK: Internals

    private func checkOpen() throws {
        guard state == .open else {
            throw SafeTensorsError(
                .writerClosed, file: url,
                state == .finished ? "writer already finished" : "writer failed earlier; its file was removed")
        }
    }

    /// Moves past tensors whose bytes are all written, stopping at `name` if it is the current tensor.
    private func skipCompleted(stoppingAt name: String? = nil) {
        while current < tensors.count, written == tensors[current].byteCount, tensors[current].name != name {
            current += 1
            written = 0
        }
    }

    /// Checks that `byteCount` more bytes of `name` may be written now; returns its entry.
    private func prepareAppend(_ name: String, byteCount: Int) throws -> TensorInfo {
        try checkOpen()
        guard let index = indexByName[name] else {
            throw fail(.tensorNotFound, tensor: name, "was not declared to the writer")
        }
        skipCompleted(stoppingAt: name)
        guard index >= current else {
            throw fail(
                .tooMuchData, tensor: name, "is already complete (\(tensors[index].byteCount) bytes)")
        }
        guard index == current else {
            let next = tensors[current]
            throw fail(
                .unexpectedTensor, tensor: name,
                "data appended out of order; next in header order is '\(next.name)' (\(written) of \(next.byteCount) "
                + "bytes written) — append in the order of `tensors`"
            )
        }
        let info = tensors[current]
        guard written + byteCount <= info.byteCount else {
            throw fail(
                .tooMuchData, tensor: name,
                "\(written) + \(byteCount) bytes appended; shape \(info.shape) of \(info.dtype.rawValue) holds "
                + "\(info.byteCount)"
            )
        }
        return info
    }

    private func scratchBuffer() -> UnsafeMutableRawBufferPointer {
        if let scratch { return scratch }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.conversionChunk * 8, alignment: 16)
        scratch = buffer
        return buffer
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        do {
            try output!.write(bytes)
        } catch let error as SafeTensorsError {
            throw fail(.writeFailed, tensor: nil, error.detail)
        }
        observer?(bytes)
    }

    /// Records the failure, closes and removes the partial file, and returns the error to throw.
    private func fail(_ kind: SafeTensorsError.Kind, tensor: String?, _ detail: String) -> SafeTensorsError {
        abandon()
        return SafeTensorsError(kind, file: url, tensor: tensor, detail + " (partial file removed)")
    }

    private func abandon() {
        output?.cancel()
        if descriptor >= 0 {
            close(descriptor)
            descriptor = -1
        }
        if state == .open {
            unlink(url.path)
        }
        state = .failed
    }
}
