import Checkpoints
import Foundation
import SafeTensors

/// The one streaming pass that computes ``TaskVectorStatistics``.
///
/// Every aligned tensor is cut into chunks of at most ``chunkElements`` coordinates; workers (one per thread)
/// take chunks in model order and hand the kernel each model's values where they are — F32 and BF16 straight from
/// the mapped file, F16 and F64 decoded into the worker's reused buffers — then release the chunk's mapped pages.
/// Chunk sums are added per tensor in chunk order, so the result does not depend on the thread count. Each input
/// byte is read once; memory is the chunk being worked on plus small buffers.
public struct StatisticsPass: Sendable {
    public var threads: Int
    public var chunkElements: Int

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
        var items: [(tensor: Int, range: Range<Int>)] = []
        for (index, tensor) in tensors.enumerated() {
            let count = tensor.elementCount
            if count == 0 { items.append((index, 0..<0)) }
            var start = 0
            while start < count {
                items.append((index, start..<min(start + chunkElements, count)))
                start += chunkElements
            }
        }
        let results = UnsafeMutableBufferPointer<TaskVectorMoments?>.allocate(capacity: items.count)
        results.initialize(repeating: nil)
        defer { results.deinitialize().deallocate() }
        let shared = WorkQueue(items: items, results: results)
        let chunk = chunkElements
        DispatchQueue.concurrentPerform(iterations: min(threads, max(items.count, 1))) { _ in
            // Decoding buffers for dtypes the kernel cannot read in place (F16, F64), allocated on first use.
            var buffers = [UnsafeMutableBufferPointer<Float>?](repeating: nil, count: taskCount + 1)
            defer { for buffer in buffers { buffer?.deallocate() } }
            var kernel = MomentsKernel(taskCount: taskCount)
            while let (itemIndex, item) = shared.next() {
                let tensor = tensors[item.tensor]
                var moments = TaskVectorMoments(taskCount: taskCount)
                do {
                    try Self.withSources(family, tensor, item.range, chunk: chunk, buffers: &buffers) { sources in
                        kernel.accumulate(sources, count: item.range.count, into: &moments)
                    }
                } catch {
                    shared.fail(error)
                    return
                }
                for model in 0...taskCount { family.releasePages(tensor, model: model, elements: item.range) }
                shared.store(moments, at: itemIndex)
                progress?(item.range.count * tensor.dtypes.reduce(0) { $0 + $1.byteSize })
            }
        }
        if let error = shared.error { throw error }

        var perTensor = tensors.map { _ in TaskVectorMoments(taskCount: taskCount) }
        for (index, item) in items.enumerated() {
            perTensor[item.tensor].add(results[index]!)
        }
        let statistics = zip(tensors, perTensor).map { tensor, moments in
            TensorStatistics(name: tensor.name, shape: tensor.shape, trimmed: tensor.isTrimmed, moments: moments)
        }
        let models = try zip(["base"] + family.taskNames, family.checkpoints).map { role, checkpoint in
            Provenance.Model(role: role, path: checkpoint.directory.path, fingerprint: try checkpoint.fingerprint())
        }
        return TaskVectorStatistics(
            taskNames: family.taskNames, tensors: statistics, problems: family.problems,
            provenance: Provenance(
                toolVersion: Provenance.toolVersion, createdUTC: Provenance.now(), commandLine: commandLine, models: models))
    }
}

extension StatisticsPass {
    /// Calls `body` with where the kernel reads each model's elements `range` of `tensor`: F32 and BF16 straight
    /// from the mapped file, other dtypes decoded into `buffers[model]`.
    static func withSources(
        _ family: ModelFamily, _ tensor: AlignedTensor, _ range: Range<Int>, chunk: Int,
        buffers: inout [UnsafeMutableBufferPointer<Float>?],
        _ body: ([LaneSource]) throws -> Void
    ) throws {
        var sources: [LaneSource] = []
        for model in 0..<buffers.count {
            let (file, name) = try family.storage(tensor, model: model)
            let dtype = tensor.dtypes[model]
            if dtype == .f32 || dtype == .bf16 {
                // The mapping outlives this call (the family holds the file open), so the address `withRawBytes`
                // hands out stays valid for `body`.
                let start = try file.withRawBytes(name) { $0.baseAddress } ?? UnsafeRawPointer(bitPattern: 16)!
                let first = start + range.lowerBound * dtype.byteSize
                sources.append(dtype == .bf16 ? .bfloat16(first) : .float32(first))
            } else {
                let buffer = buffers[model] ?? UnsafeMutableBufferPointer<Float>.allocate(capacity: chunk)
                buffers[model] = buffer
                try file.readFloat32(name, elements: range, into: UnsafeMutableBufferPointer(rebasing: buffer[0..<range.count]))
                sources.append(.float32(UnsafeRawPointer(buffer.baseAddress!)))
            }
        }
        try withExtendedLifetime(family) { try body(sources) }
    }
}

/// The shared state of the pass's workers: the next chunk to take, the results, the first error.
private final class WorkQueue: @unchecked Sendable {
    private let lock = NSLock()
    private let items: [(tensor: Int, range: Range<Int>)]
    private let results: UnsafeMutableBufferPointer<TaskVectorMoments?>
    private var nextIndex = 0
    private(set) var error: (any Error)?

    init(items: [(tensor: Int, range: Range<Int>)], results: UnsafeMutableBufferPointer<TaskVectorMoments?>) {
        self.items = items
        self.results = results
    }

    func next() -> (Int, (tensor: Int, range: Range<Int>))? {
        lock.lock()
        defer { lock.unlock() }
        guard error == nil, nextIndex < items.count else { return nil }
        defer { nextIndex += 1 }
        return (nextIndex, items[nextIndex])
    }

    /// Each index is written by exactly one worker, so no lock is needed for distinct slots.
    func store(_ moments: TaskVectorMoments, at index: Int) {
        results[index] = moments
    }

    func fail(_ error: any Error) {
        lock.lock()
        defer { lock.unlock() }
        if self.error == nil { self.error = error }
    }
}
