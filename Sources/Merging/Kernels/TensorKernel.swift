import Foundation
import SafeTensors

/// The computation of one output tensor, streamed over chunks of its elements.
///
/// A kernel first runs ``passCount`` reduction passes (each over every chunk, in parallel; a pass's per-chunk
/// results are combined in chunk order by ``endPass(_:)``, so nothing depends on the thread count), then
/// ``apply(chunk:range:io:output:)`` produces each chunk of the output. Element-wise methods have no pass; a
/// method that needs a whole-tensor figure (a top-k threshold, a norm, an L1 rescale factor) gets it from passes,
/// so no kernel ever holds a whole tensor.
/// A kernel that can measure ‖sparsified δₜ‖² per task instead of merging (MetaGPT's `norm_source: sparsified`).
protocol SquaredNormsMeasuring: TensorKernel {
    /// ‖sparsified δₜ‖² per task, once the kernel's passes have run.
    var squaredNorms: [Double] { get }
}

protocol TensorKernel: AnyObject, Sendable {
    /// Reduction passes before ``apply(chunk:range:io:output:)``.
    var passCount: Int { get }
    /// Chunk boundaries fall on multiples of this many elements (a row, for row-wise methods).
    var lineLength: Int { get }
    /// Called once before pass `pass` with the number of chunks.
    func beginPass(_ pass: Int, chunkCount: Int, workers: Int)
    /// Pass `pass` over one chunk; results go to slots owned by `chunk` or by `io.worker`.
    func reduce(_ pass: Int, chunk: Int, range: Range<Int>, io: KernelIO) throws
    /// Combines pass `pass`'s results.
    func endPass(_ pass: Int) throws
    /// Writes output elements `range` (chunk `chunk`) to `output[0..<range.count]`.
    func apply(chunk: Int, range: Range<Int>, io: KernelIO, output: UnsafeMutablePointer<Float>) throws
}

/// An element-wise kernel: no reduction pass, chunks anywhere. Kernels with passes override these.
extension TensorKernel {
    var passCount: Int { 0 }
    var lineLength: Int { 1 }
    func beginPass(_ pass: Int, chunkCount: Int, workers: Int) {}
    func reduce(_ pass: Int, chunk: Int, range: Range<Int>, io: KernelIO) throws {}
    func endPass(_ pass: Int) throws {}
}

/// What a kernel reads with: the inputs' sources for this tensor and the calling worker's scratch buffers.
struct KernelIO {
    let files: WeightFiles
    /// Per input of the kernel (its own order: base first for base-aware kernels).
    let sources: [TensorSource]
    let loadDtype: DType?
    let scratch: WorkerScratch
    var worker: Int { scratch.worker }

    /// Elements per block: blocks are small enough that a block of every input stays in cache.
    static let blockElements = 8192

    /// Reads elements `range` of input `input` as Float32 into `destination`.
    func load(_ input: Int, _ range: Range<Int>, into destination: UnsafeMutablePointer<Float>) throws {
        try files.readFloat32(
            sources[input], elements: range, into: destination, scratch: scratch.raw(bytes: range.count * 8),
            loadDtype: loadDtype, factors: scratch.loraFactors)
    }

    /// Elements per `pread` of each input in ``forEachBlock(_:_:)``: eight blocks (128 KB of BF16 per input), so a
    /// piece's bytes are still in the worker's L2 cache when they are decoded, while system calls stay few.
    static let pieceElements = 8 * blockElements

    /// Calls `body(start, count, inputs)` for consecutive blocks of `range`, with every input's block loaded
    /// (`inputs[k]` points at input k's `count` values).
    ///
    /// Each input's bytes are read with one `pread` per piece of ``pieceElements`` into the worker's buffer, then
    /// converted to Float32 block by block (small blocks stay in cache for `body`). Reading the whole chunk at
    /// once (one `pread` per input and chunk of 2^20 elements) left the bytes in memory, not in cache, by the time
    /// they were decoded: the decoding loop then waited on loads.
    func forEachBlock(
        _ range: Range<Int>, _ body: (Int, Int, UnsafeMutableBufferPointer<UnsafeMutablePointer<Float>>) throws -> Void
    ) throws {
        guard !range.isEmpty else { return }
        let buffers = scratch.inputBlocks(count: sources.count, elements: Self.blockElements)
        let pieceLength = min(Self.pieceElements, range.count)
        var offsets: [Int] = []
        var total = 0
        for source in sources {
            offsets.append(total)
            total += (pieceLength * source.dtype.byteSize + 63) / 64 * 64
        }
        let raw = scratch.buffer("io.chunk", count: total, of: UInt8.self)
        var pieceStart = range.lowerBound
        while pieceStart < range.upperBound {
            let piece = pieceStart..<min(pieceStart + pieceLength, range.upperBound)
            for (input, source) in sources.enumerated() {
                let size = source.dtype.byteSize
                try files.read(
                    file: source.file, offset: source.offset + piece.lowerBound * size,
                    byteCount: piece.count * size, into: raw + offsets[input])
            }
            var start = piece.lowerBound
            while start < piece.upperBound {
                let count = min(Self.blockElements, piece.upperBound - start)
                for (input, source) in sources.enumerated() {
                    let size = source.dtype.byteSize
                    FloatConversion.decode(
                        source.dtype, from: raw + offsets[input] + (start - piece.lowerBound) * size, count: count,
                        into: buffers[input])
                    try files.addUpdate(
                        source, elements: start..<(start + count), to: buffers[input], cache: scratch.loraFactors)
                    if let loadDtype, loadDtype != source.dtype {
                        Rounding.round(buffers[input], count: count, to: loadDtype)
                    }
                }
                try body(start, count, buffers)
                start += count
            }
            pieceStart = piece.upperBound
        }
    }
}

/// One worker's reusable buffers: grown on demand, never shrunk, freed with the pool.
final class WorkerScratch: @unchecked Sendable {
    let worker: Int
    /// The LoRA factors this worker read last.
    let loraFactors = LoRAFactorCache()
    private var rawBuffer = UnsafeMutableRawBufferPointer(start: nil, count: 0)
    private var inputStorage = UnsafeMutableBufferPointer<Float>(start: nil, count: 0)
    private var inputPointers = UnsafeMutableBufferPointer<UnsafeMutablePointer<Float>>(start: nil, count: 0)
    private var named: [String: UnsafeMutableRawBufferPointer] = [:]

    init(worker: Int) {
        self.worker = worker
    }

    deinit {
        rawBuffer.deallocate()
        inputStorage.deallocate()
        inputPointers.deallocate()
        for buffer in named.values { buffer.deallocate() }
    }

    /// At least `bytes` bytes, 64-byte aligned.
    func raw(bytes: Int) -> UnsafeMutableRawPointer {
        if rawBuffer.count < bytes {
            rawBuffer.deallocate()
            rawBuffer = .allocate(byteCount: max(bytes, 1), alignment: 64)
        }
        return rawBuffer.baseAddress!
    }

    /// `count` blocks of `elements` Floats.
    func inputBlocks(count: Int, elements: Int) -> UnsafeMutableBufferPointer<UnsafeMutablePointer<Float>> {
        if inputStorage.count < count * elements || inputPointers.count < count {
            inputStorage.deallocate()
            inputPointers.deallocate()
            inputStorage = .allocate(capacity: max(count * elements, 1))
            inputPointers = .allocate(capacity: max(count, 1))
        }
        for k in 0..<count { inputPointers[k] = inputStorage.baseAddress! + k * elements }
        return UnsafeMutableBufferPointer(rebasing: inputPointers[0..<count])
    }

    /// A named buffer of at least `count` elements of `T` (contents unspecified).
    func buffer<T>(_ name: String, count: Int, of type: T.Type = T.self) -> UnsafeMutablePointer<T> {
        let bytes = max(count, 1) * MemoryLayout<T>.stride
        if let existing = named[name], existing.count >= bytes {
            return existing.baseAddress!.assumingMemoryBound(to: T.self)
        }
        named[name]?.deallocate()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes, alignment: 64)
        named[name] = buffer
        return buffer.baseAddress!.bindMemory(to: T.self, capacity: max(count, 1))
    }
}

/// A fixed-size table of per-chunk (or per-worker) slots that distinct threads write without locking: each slot
/// is written by the one chunk or worker that owns it, and read after the pass.
final class SlotTable<Element>: @unchecked Sendable {
    let storage: UnsafeMutableBufferPointer<Element>

    init(count: Int, initial: Element) {
        storage = .allocate(capacity: max(count, 1))
        storage.initialize(repeating: initial)
    }

    deinit {
        storage.deinitialize()
        storage.deallocate()
    }

    subscript(index: Int) -> Element {
        get { storage[index] }
        set { storage[index] = newValue }
    }

    var count: Int { storage.count }
}
