import CBLAS
import Checkpoints
import Foundation
import SafeTensors
import Workers

/// The one streaming pass that computes ``TaskVectorStatistics``.
///
/// Every aligned tensor is cut into chunks of at most ``chunkElements`` coordinates; the workers of a
/// ``WorkerPool`` (one per thread) take chunks in model order, read each model's part of the chunk in pieces of
/// ``readElements`` coordinates with `pread` (``SafeTensorsFile/read(_:elements:into:)``) into the worker's reused
/// buffers (F32 as stored; BF16, F16 and F64 decoded to Float from a staging buffer), and hand them to the
/// ``MomentsKernel``. Chunk sums are added per tensor in chunk order, so the result does not depend on the thread
/// count; pieces are whole kernel blocks, so it does not depend on how a chunk is read either. Each input byte is
/// read once; memory is the buffers (about 1 MB per worker).
///
/// Map or pread, chosen by measurement (`benchmarks/analyze.sh`, TinyLlama-shaped BF16 family, base + 2 tasks,
/// 6.6 GB from the page cache, 2 threads; CPU seconds user + sys, because this machine's wall clock was shared;
/// details in `docs/performance.md`), three runs each of the same binary: pread 2.18–2.26 s (user 1.22–1.34,
/// sys 0.88–1.04, peak RSS 60 MB); the mapping 2.28–2.36 s (user 1.59–1.76, sys 0.55–0.69, peak RSS 71 MB); with
/// each chunk first populated by `madvise(MADV_POPULATE_READ)` the mapping was no better. pread is kept: as cheap
/// or cheaper, resident memory bounded by construction (no page-table growth to undo with
/// `madvise(MADV_DONTNEED)`), no SIGBUS when a file is truncated under us (an error instead), the merge
/// executor's way of reading, and `POSIX_FADV_SEQUENTIAL` read-ahead when the files are not cached. The mapped
/// reader that was measured is gone; its numbers stay in `docs/performance.md`.
public struct StatisticsPass: Sendable {
    public var threads: Int
    public var chunkElements: Int

    /// Coordinates read per `pread` and handed to the kernel at once: four kernel blocks (128 KB per BF16 model,
    /// 256 KB once decoded). Measured on the TinyLlama family (CPU seconds, user + sys, two runs each): 1 block
    /// 2.29–2.67, 2 blocks 2.31–3.18, 4 blocks 2.14–2.20, 8 blocks 2.09–2.15 — fewer system calls, while a
    /// worker's buffers for base + 2 tasks (896 KB) still fit its L2 cache between the copy and the kernel.
    static let readElements = 4 * MomentsKernel.blockSize

    public init(threads: Int = ProcessInfo.processInfo.activeProcessorCount, chunkElements: Int = 1 << 20) {
        self.threads = max(1, threads)
        self.chunkElements = max(1, chunkElements)
    }

    /// Computes the statistics of `family`.
    ///
    /// - Parameter progress: called from worker threads with the number of input bytes just read.
    public func run(
        _ family: ModelFamily, commandLine: String = "", progress: (@Sendable (Int) -> Void)? = nil
    ) throws -> TaskVectorStatistics {
        let taskCount = family.tasks.count
        let tensors = family.tensors
        var perTensor = tensors.map { _ in TaskVectorMoments(taskCount: taskCount) }
        if AdaptedTensorMoments.isFactorsOnly(family) {
            perTensor = try factorMoments(family, progress: progress)
        } else {
            let chunks = try mapChunks(family, progress: progress) { stored, dtypes, range, buffers, kernel in
                var moments = TaskVectorMoments(taskCount: taskCount)
                try Self.accumulate(stored, dtypes: dtypes, range, buffers: buffers, kernel: kernel, into: &moments)
                return moments
            }
            for (tensor, moments) in chunks {
                perTensor[tensor].add(moments)
            }
            for (index, moments) in try adaptedMoments(family, materialise: true, progress: progress) {
                perTensor[index] = moments
            }
        }
        let statistics = zip(tensors, perTensor).map { tensor, moments in
            TensorStatistics(name: tensor.name, shape: tensor.shape, trimmed: tensor.isTrimmed, moments: moments)
        }
        var provenance = try Provenance.current(family)
        provenance.commandLine = commandLine
        return TaskVectorStatistics(
            taskNames: family.taskNames, tensors: statistics, problems: family.problems, provenance: provenance)
    }
}

extension StatisticsPass {
    /// The work items: each tensor's chunks of at most ``chunkElements`` coordinates, in model order (one empty
    /// chunk for a zero-size tensor), leaving out the tensors `skipping` lists.
    func chunks(_ tensors: [AlignedTensor], skipping: Set<Int> = []) -> [(tensor: Int, range: Range<Int>)] {
        var items: [(tensor: Int, range: Range<Int>)] = []
        for (index, tensor) in tensors.enumerated() where !skipping.contains(index) {
            let count = tensor.elementCount
            if count == 0 { items.append((index, 0..<0)) }
            var start = 0
            while start < count {
                items.append((index, start..<min(start + chunkElements, count)))
                start += chunkElements
            }
        }
        return items
    }

    /// The indices of `family`'s tensors that a LoRA adapter task changes: ``mapChunks(_:progress:_:)`` leaves them
    /// out (reading the base for such a task would give τ = 0), and ``AdaptedTensorMoments`` computes them.
    static func adaptedTensors(_ family: ModelFamily) -> Set<Int> {
        guard family.hasAdapters else { return [] }
        return Set(family.tensors.indices.filter { AdaptedTensorMoments.isAdapted(family.tensors[$0], in: family) })
    }

    /// ``AdaptedTensorMoments`` of each of ``adaptedTensors(_:)``, one tensor per item on a ``WorkerPool`` of
    /// ``threads`` workers (each result depends only on its tensor, not on the thread count).
    ///
    /// - Parameter progress: called from worker threads with the number of input bytes of each finished tensor.
    func adaptedMoments(
        _ family: ModelFamily, materialise: Bool, progress: (@Sendable (Int) -> Void)?
    ) throws -> [(tensor: Int, moments: TaskVectorMoments)] {
        let indices = Self.adaptedTensors(family).sorted()
        guard !indices.isEmpty else { return [] }
        // The workers are the parallelism: BLAS threads inside each worker's small dgemms (K = r) only contend
        // (measured: 13× the CPU time for one rank-16 adapter on the TinyLlama shape). Restored afterwards.
        let blasThreads = openblas_get_num_threads()
        openblas_set_num_threads(1)
        defer { openblas_set_num_threads(blasThreads) }
        let tensors = family.tensors
        let pool = try WorkerPool(threads: min(threads, indices.count))
        let results = try Self.collect(indices.count, on: pool) { item, _ in
            let tensor = tensors[indices[item]]
            let moments = try AdaptedTensorMoments.compute(family, tensor, materialise: materialise)
            progress?(tensor.elementCount * tensor.dtypes.reduce(0) { $0 + $1.byteSize })
            return moments
        }
        return Array(zip(indices, results))
    }

    /// ``AdaptedTensorMoments/fromFactors(_:_:scratch:)`` of every tensor of `family` (whose tasks are all LoRA
    /// adapters), one tensor per item on a ``WorkerPool`` of ``threads`` workers, each with its own
    /// ``FactorGram/Scratch``: no base or task weight is read.
    ///
    /// - Parameter progress: called from worker threads with the number of input bytes each tensor stands for.
    func factorMoments(_ family: ModelFamily, progress: (@Sendable (Int) -> Void)?) throws -> [TaskVectorMoments] {
        let tensors = family.tensors
        guard !tensors.isEmpty else { return [] }
        // As in adaptedMoments: the workers are the parallelism, not BLAS threads inside the r×r products.
        let blasThreads = openblas_get_num_threads()
        openblas_set_num_threads(1)
        defer { openblas_set_num_threads(blasThreads) }
        let pool = try WorkerPool(threads: min(threads, tensors.count))
        let scratches = FactorScratches((0..<pool.threadCount).map { _ in FactorGram.Scratch() })
        return try Self.collect(tensors.count, on: pool) { item, worker in
            let moments = try AdaptedTensorMoments.fromFactors(
                family, tensors[item], scratch: scratches.scratches[worker])
            progress?(tensors[item].elementCount * tensors[item].dtypes.reduce(0) { $0 + $1.byteSize })
            return moments
        }
    }

    /// Runs `body(item, worker)` for items 0..<count on `pool` and returns the results in item order.
    static func collect<Result>(
        _ count: Int, on pool: WorkerPool, _ body: @escaping @Sendable (Int, Int) throws -> Result
    ) throws -> [Result] {
        let results = UnsafeMutableBufferPointer<Result?>.allocate(capacity: count)
        results.initialize(repeating: nil)
        defer { results.deinitialize().deallocate() }
        let slots = ResultSlots(results)
        try pool.run(count) { item, worker in slots.store(try body(item, worker), at: item) }
        return results.map { $0! }
    }

    /// Runs `body` on every chunk of `family` (``chunks(_:skipping:)``) but those of ``adaptedTensors(_:)`` on a
    /// ``WorkerPool`` of ``threads`` workers, each with its own ``ReadBuffers`` and ``MomentsKernel``, and returns each
    /// chunk's tensor index and result in chunk order (so sums formed from them do not depend on the thread count).
    /// Every file is advised as read sequentially.
    ///
    /// - Parameter progress: called from worker threads with the number of input bytes of each finished chunk.
    func mapChunks<Result>(
        _ family: ModelFamily, progress: (@Sendable (Int) -> Void)?,
        _ body: @escaping @Sendable (
            _ stored: [Inputs.Stored], _ dtypes: [DType], _ range: Range<Int>, _ buffers: ReadBuffers,
            _ kernel: MomentsKernel
        ) throws -> Result
    ) throws -> [(tensor: Int, result: Result)] {
        let tensors = family.tensors
        let items = chunks(tensors, skipping: Self.adaptedTensors(family))
        let inputs = try Inputs(family)
        let pool = try WorkerPool(threads: min(threads, max(items.count, 1)))
        let workers = WorkerState(count: pool.threadCount, models: family.tasks.count + 1, elements: Self.readElements)
        defer { workers.deallocate() }
        let results = try withExtendedLifetime(family) {
            try Self.collect(items.count, on: pool) { index, worker in
                let item = items[index]
                let dtypes = tensors[item.tensor].dtypes
                let result = try body(
                    inputs.stored[item.tensor], dtypes, item.range, workers.buffers[worker], workers.kernels[worker])
                progress?(item.range.count * dtypes.reduce(0) { $0 + $1.byteSize })
                return result
            }
        }
        return zip(items, results).map { ($0.tensor, $1) }
    }

    /// Reads elements `range` of one tensor from every model (`stored[model]`, stored as `dtypes[model]`) in pieces
    /// of ``readElements`` and adds them to `moments`.
    static func accumulate(
        _ stored: [Inputs.Stored], dtypes: [DType], _ range: Range<Int>, buffers: ReadBuffers, kernel: MomentsKernel,
        into moments: inout TaskVectorMoments
    ) throws {
        try forEachPiece(stored, dtypes: dtypes, range, buffers: buffers) { count in
            kernel.accumulate(UnsafeBufferPointer(buffers.pointers), Float32Lanes.self, count: count, into: &moments)
        }
    }

    /// Reads elements `range` of one tensor from every model in pieces of ``readElements`` (whole kernel blocks, so
    /// the sums do not depend on the reading) into `buffers.models` and calls `body` with each piece's length. F32 is
    /// read as stored into the model's buffer; other dtypes are read into the staging buffer and decoded into it.
    static func forEachPiece(
        _ stored: [Inputs.Stored], dtypes: [DType], _ range: Range<Int>, buffers: ReadBuffers,
        _ body: (Int) throws -> Void
    ) throws {
        var start = range.lowerBound
        while start < range.upperBound {
            let piece = start..<min(start + readElements, range.upperBound)
            for (model, dtype) in dtypes.enumerated() {
                let input = stored[model]
                let buffer = buffers.models[model]
                if dtype == .f32 {
                    try input.file.read(input.name, elements: piece, into: buffer)
                } else {
                    try input.file.read(input.name, elements: piece, into: buffers.staging)
                    FloatConversion.decode(
                        dtype, from: buffers.staging, count: piece.count,
                        into: buffer.assumingMemoryBound(to: Float.self))
                }
            }
            try body(piece.count)
            start = piece.upperBound
        }
    }
}

/// Where each model stores each aligned tensor of a family; every file is advised as read sequentially.
struct Inputs: @unchecked Sendable {
    /// One model's copy of one tensor.
    struct Stored {
        /// The weight file holding it.
        let file: SafeTensorsFile
        /// The stored name (a tied `lm_head`: the embedding's).
        let name: String
    }

    /// `stored[tensor][model]`.
    let stored: [[Stored]]

    init(_ family: ModelFamily) throws {
        var advised = Set<ObjectIdentifier>()
        stored = try family.tensors.map { tensor in
            try (0...family.tasks.count).map { model in
                let (file, name) = try family.storage(tensor, model: model)
                if advised.insert(ObjectIdentifier(file)).inserted { file.advise(.sequential) }
                return Stored(file: file, name: name)
            }
        }
    }
}

/// A worker's reused read buffers: one per model (Float32-sized, 64-byte aligned), a staging buffer for stored
/// bytes that are decoded (F64-sized), and the pointers the kernel reads.
struct ReadBuffers {
    let models: [UnsafeMutableRawPointer]
    let staging: UnsafeMutableRawPointer
    let pointers: UnsafeMutableBufferPointer<UnsafeRawPointer>

    init(models count: Int, elements: Int) {
        models = (0..<count).map { _ in UnsafeMutableRawPointer.allocate(byteCount: elements * 4, alignment: 64) }
        staging = UnsafeMutableRawPointer.allocate(byteCount: elements * 8, alignment: 64)
        pointers = .allocate(capacity: count)
        for (k, buffer) in models.enumerated() { pointers[k] = UnsafeRawPointer(buffer) }
    }

    func deallocate() {
        for buffer in models { buffer.deallocate() }
        staging.deallocate()
        pointers.deallocate()
    }
}

/// Each worker's kernel and read buffers, by worker index.
final class WorkerState: @unchecked Sendable {
    let kernels: [MomentsKernel]
    let buffers: [ReadBuffers]

    init(count: Int, models: Int, elements: Int) {
        kernels = (0..<count).map { _ in MomentsKernel(taskCount: models - 1) }
        buffers = (0..<count).map { _ in ReadBuffers(models: models, elements: elements) }
    }

    func deallocate() {
        for buffer in buffers { buffer.deallocate() }
    }
}

/// The chunks' results, one slot per chunk; each slot is written by exactly one worker, so no lock is needed.
struct ResultSlots<Element>: @unchecked Sendable {
    let results: UnsafeMutableBufferPointer<Element>

    init(_ results: UnsafeMutableBufferPointer<Element>) {
        self.results = results
    }

    func store(_ value: Element, at index: Int) {
        results[index] = value
    }
}

/// Each worker's ``FactorGram/Scratch``, by worker index; a worker uses only its own.
struct FactorScratches: @unchecked Sendable {
    let scratches: [FactorGram.Scratch]

    init(_ scratches: [FactorGram.Scratch]) {
        self.scratches = scratches
    }
}
