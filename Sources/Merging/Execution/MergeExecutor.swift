import CKernels
import Checkpoints
import Foundation
import SafeTensors
import Workers

/// Receives progress from long passes (the CLI draws a bar or prints plain lines).
public protocol MergeProgressReporting: Sendable {
    func begin(_ label: String, total: Double)
    func advance(_ amount: Double)
    func end()
}

/// Runs a ``MergePlan`` tensor by tensor.
///
/// Each tensor is cut into chunks (``MergeOptions/chunkElements`` elements, whole rows for row-wise methods);
/// a kernel's reduction passes run over all chunks on every worker thread, then the output chunks are produced
/// by the workers — those of consecutive tensors together — and appended in order by a writer thread, at most
/// `4 × threads` chunks ahead (``OrderedOutput``). Memory is each worker's chunk buffers plus the chunks in
/// flight — independent of model size and of the largest tensor (except for DELLA's keep bits, n/8 bytes per
/// model, and rows held whole by row-wise methods). Inputs are read with `pread` into reused buffers (see
/// ``TensorSource``).
struct MergeExecutor {
    let plan: MergePlan
    let options: MergeOptions
    let pool: WorkerPool
    let scratch: [WorkerScratch]

    init(plan: MergePlan, options: MergeOptions) throws {
        self.plan = plan
        self.options = options
        pool = try mergeWorkers(threads: options.threads)
        scratch = (0..<options.threads).map { WorkerScratch(worker: $0) }
    }

    // MARK: Kernels

    /// The kernel for `tensor` and the sources it reads, in its input order (the method's row builds it).
    func kernel(
        for tensor: MergePlan.Tensor, mode: TaskArithmeticKernel.Mode = .merge
    ) throws -> (any TensorKernel, [TensorSource]) {
        try plan.method.definition.makeKernel(KernelRequest(plan: plan, tensor: tensor, mode: mode))
    }

    /// Chunk ranges of `count` elements, on multiples of `line`.
    func chunks(count: Int, line: Int) -> [Range<Int>] {
        guard count > 0 else { return [] }
        let size = max(line, options.chunkElements / max(line, 1) * max(line, 1))
        return stride(from: 0, to: count, by: size).map { $0..<min($0 + size, count) }
    }

    private func io(_ sources: [TensorSource], worker: Int) -> KernelIO {
        KernelIO(files: plan.files, sources: sources, loadDtype: plan.configuration.dtype, scratch: scratch[worker])
    }

    /// Runs a kernel's reduction passes.
    func reduce(_ kernel: any TensorKernel, sources: [TensorSource], count: Int) throws -> [Range<Int>] {
        let ranges = chunks(count: count, line: kernel.lineLength)
        for pass in 0..<kernel.passCount {
            kernel.beginPass(pass, chunkCount: ranges.count, workers: pool.threadCount)
            let executor = self
            try pool.run(
                ranges.count,
                body: { chunk, worker in
                    try kernel.reduce(
                        pass, chunk: chunk, range: ranges[chunk], io: executor.io(sources, worker: worker))
                })
            try kernel.endPass(pass)
        }
        return ranges
    }

    // MARK: Writing

    /// One output chunk to compute.
    private struct Item {
        let kernel: any TensorKernel
        let sources: [TensorSource]
        let tensor: String
        let dtype: DType
        let chunk: Int
        let range: Range<Int>
        let sequence: Int
    }

    /// Computes every tensor and appends it to `writer`, in the writer's shard order.
    ///
    /// Output chunks of consecutive tensors are computed together by the workers (so small tensors do not leave
    /// threads idle) and written by ``OrderedOutput``'s thread while the next ones are computed; a tensor whose
    /// kernel needs reduction passes waits for the chunks before it to be computed, then runs its passes.
    func write(to writer: ModelWriter, progress: (any MergeProgressReporting)?) throws {
        let byName = Dictionary(uniqueKeysWithValues: plan.tensors.map { ($0.name, $0) })
        let output = try OrderedOutput(writer: writer, window: 4 * pool.threadCount, progress: progress)
        var sequence = 0
        var pending: [Item] = []
        let executor = self
        func flush() throws {
            guard !pending.isEmpty else { return }
            let items = pending
            pending = []
            try pool.run(items.count) { index, worker in
                let item = items[index]
                do {
                    let floats = executor.scratch[worker].buffer("output", count: item.range.count, of: Float.self)
                    try item.kernel.apply(
                        chunk: item.chunk, range: item.range, io: executor.io(item.sources, worker: worker),
                        output: floats)
                    if !executor.options.allowNonFinite {
                        try Self.checkFinite(
                            floats, count: item.range.count, tensor: item.tensor, dtype: item.dtype,
                            offset: item.range.lowerBound)
                    }
                    let bytes = item.range.count * item.dtype.byteSize
                    let destination = try output.reserve(item.sequence, bytes: bytes)
                    FloatConversion.encode(item.dtype, from: floats, count: item.range.count, into: destination)
                    output.publish(item.sequence, tensor: item.tensor, bytes: bytes, elements: item.range.count)
                } catch {
                    // This chunk will never be published: release the producers waiting behind it.
                    output.fail(error)
                    throw error
                }
            }
        }
        do {
            for shard in writer.shards {
                for entry in shard.entries {
                    guard let tensor = byName[entry.name] else { continue }
                    if tensor.isCopied {
                        try flush()
                        sequence = try copy(tensor, to: output, from: sequence)
                        continue
                    }
                    let (kernel, sources) = try self.kernel(for: tensor)
                    if kernel.passCount > 0 { try flush() }
                    let ranges = try reduce(kernel, sources: sources, count: tensor.elementCount)
                    if ranges.isEmpty {
                        try flush()
                        _ = try output.reserve(sequence, bytes: 0)
                        output.publish(sequence, tensor: tensor.name, bytes: 0, elements: 0)
                        sequence += 1
                        continue
                    }
                    for (chunk, range) in ranges.enumerated() {
                        pending.append(
                            Item(
                                kernel: kernel, sources: sources, tensor: tensor.name, dtype: tensor.dtype,
                                chunk: chunk,
                                range: range, sequence: sequence))
                        sequence += 1
                    }
                    if pending.count >= 8 * pool.threadCount { try flush() }
                }
            }
            try flush()
            try output.finish(count: sequence)
        } catch {
            output.abandon(error)
            throw error
        }
    }

    /// Throws ``MergeError/nonFinite`` when `values` holds NaN / ±Inf, or magnitudes that round to infinity in
    /// `dtype`: F16 from 65 520 on; BF16 from 3.3961514e38 on (bits 0x7F7F8000, the midpoint between BF16's largest
    /// finite value 0x7F7F and 2¹²⁸, which round-to-nearest-even takes to 0x7F80 = ∞); F32 and F64 only from values
    /// already infinite in Float32.
    ///
    /// Compares magnitude bits, sixteen lanes at a time: for a Float that is not NaN, |x| < c ⇔ bits(|x|) < bits(c),
    /// and NaN's magnitude bits exceed every finite bound's.
    static func checkFinite(
        _ pointer: UnsafeMutablePointer<Float>, count: Int, tensor: String, dtype: DType, offset: Int
    ) throws {
        let limit: UInt32 =
            switch dtype {
            case .f16: Float(65520).bitPattern
            case .bf16: 0x7F7F_8000
            default: Float.infinity.bitPattern
            }
        let raw = UnsafeRawPointer(pointer)
        // Per lane, the count of magnitudes below the limit (`mm_count_magnitudes_below`, sixteen lanes): m − limit
        // wraps to a top bit of 1 exactly then (both are below 2³¹).
        var i = count / 16 * 16
        var bad = i - mm_count_magnitudes_below(raw.assumingMemoryBound(to: Float.self), i, limit)
        while i < count {
            if pointer[i].bitPattern & 0x7FFF_FFFF >= limit { bad += 1 }
            i += 1
        }
        guard bad > 0 else { return }
        let first = (0..<count).first { pointer[$0].bitPattern & 0x7FFF_FFFF >= limit }!
        throw MergeError.nonFinite(tensor: tensor, count: bad, index: offset + first, dtype: dtype.rawValue)
    }

    /// Publishes a non-floating tensor's bytes, copied from the first input, as chunks from `sequence` on; returns
    /// the next sequence number.
    private func copy(_ tensor: MergePlan.Tensor, to output: OrderedOutput, from sequence: Int) throws -> Int {
        let source = tensor.sources[0]
        let total = tensor.elementCount * source.dtype.byteSize
        let step = 1 << 22
        var next = sequence
        var done = 0
        repeat {
            let n = min(step, total - done)
            let destination = try output.reserve(next, bytes: n)
            if n > 0 {
                try plan.files.read(file: source.file, offset: source.offset + done, byteCount: n, into: destination)
            }
            output.publish(next, tensor: tensor.name, bytes: n, elements: n / max(source.dtype.byteSize, 1))
            next += 1
            done += n
        } while done < total
        return next
    }
}
