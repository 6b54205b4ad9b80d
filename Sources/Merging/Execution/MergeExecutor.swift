import Checkpoints
import Foundation
import SafeTensors

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
/// by the workers and appended in order by the calling thread, at most `2 × threads` chunks ahead. Memory is the
/// workers' block buffers plus the chunks in flight — independent of model size and of the largest tensor
/// (except for DELLA's keep bits, n/8 bytes per model, and rows held whole by row-wise methods). Inputs are read
/// with `pread` into reused buffers (see ``TensorSource``).
struct MergeExecutor {
    let plan: MergePlan
    let options: MergeOptions
    let pool: WorkerPool
    let scratch: [WorkerScratch]

    init(plan: MergePlan, options: MergeOptions) {
        self.plan = plan
        self.options = options
        pool = WorkerPool(threads: options.threads)
        scratch = (0..<options.threads).map { WorkerScratch(worker: $0) }
    }

    // MARK: Kernels

    /// The kernel for `tensor` and the sources it reads, in its input order.
    func kernel(for tensor: MergePlan.Tensor, mode: TaskArithmeticKernel.Mode = .merge) throws -> (any TensorKernel, [TensorSource]) {
        let method = plan.method
        let tasks = plan.taskIndices
        let baseFirst = plan.baseIndex.map { [$0] + tasks } ?? tasks
        let sources = baseFirst.map { tensor.sources[$0] }
        func perTask(_ name: String) -> [Double] {
            tasks.map { tensor.perInput[$0][name]?.number ?? 0 }
        }
        switch method {
        case .linear:
            let weights = plan.inputs.indices.map { tensor.perInput[$0]["weight"]?.number ?? 0 }
            return (LinearKernel(weights: weights, normalize: tensor.shared["normalize"]?.bool ?? true), tensor.sources)
        case .passthrough:
            return (PassthroughKernel(scale: tensor.perInput[0]["scale"]?.number), tensor.sources)
        case .metagpt:
            guard let lambdas = tensor.lambdas else {
                throw MergeConfigError(.badValue, "tensor '\(tensor.name)': MetaGPT coefficients were not computed")
            }
            return (MetaGPTKernel(lambdas: lambdas, scale: tensor.shared["lambda"]?.number ?? 1), sources)
        case .slerp:
            return (SlerpKernel(t: tensor.shared["t"]?.number ?? 0), sources)
        case .modelStock:
            return (ModelStockKernel(models: tasks.count, filterWise: tensor.shared["filter_wise"]?.bool ?? false, shape: tensor.shape), sources)
        case .sce:
            return (SCEKernel(tasks: tasks.count, count: tensor.elementCount, selectTopK: tensor.shared["select_topk"]?.number ?? 1), sources)
        default:
            var weights = perTask("weight")
            if method.isMetaGPT {
                guard let lambdas = tensor.lambdas ?? (mode == .squaredNorms ? [Double](repeating: 1, count: tasks.count) : nil) else {
                    throw MergeConfigError(.badValue, "tensor '\(tensor.name)': MetaGPT coefficients were not computed")
                }
                weights = lambdas
            }
            let settings = TaskArithmeticKernel.Settings(
                sparsification: method.sparsification, consensus: method.usesSignConsensus,
                normalize: tensor.shared["normalize"]?.bool ?? method.defaultNormalize,
                rescale: tensor.shared["rescale"]?.bool ?? method.defaultRescale,
                lambda: tensor.shared["lambda"]?.number ?? 1, weights: weights, densities: perTask("density"),
                gammas: perTask("gamma"), epsilons: perTask("epsilon"), seed: plan.seed)
            return (try TaskArithmeticKernel(name: tensor.name, shape: tensor.shape, settings: settings, mode: mode), sources)
        }
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
            try pool.run(ranges.count, body: { chunk, worker in
                try kernel.reduce(pass, chunk: chunk, range: ranges[chunk], io: executor.io(sources, worker: worker))
            })
            try kernel.endPass(pass)
        }
        return ranges
    }

    // MARK: Writing

    /// Computes every tensor and appends it to `writer`, in the writer's shard order.
    func write(to writer: ModelWriter, progress: (any MergeProgressReporting)?) throws {
        let byName = Dictionary(uniqueKeysWithValues: plan.tensors.map { ($0.name, $0) })
        let window = 2 * pool.threadCount
        let slots = OutputSlots(count: window)
        for shard in writer.shards {
            for entry in shard.entries {
                guard let tensor = byName[entry.name] else { continue }
                if tensor.isCopied {
                    try copy(tensor, to: writer)
                    progress?.advance(Double(tensor.elementCount))
                    continue
                }
                let (kernel, sources) = try self.kernel(for: tensor)
                let ranges = try reduce(kernel, sources: sources, count: tensor.elementCount)
                let dtype = tensor.dtype
                let executor = self
                try pool.run(
                    ranges.count, window: window,
                    body: { chunk, worker in
                        let range = ranges[chunk]
                        let slot = slots.slot(chunk % window, elements: range.count, dtype: dtype)
                        try kernel.apply(chunk: chunk, range: range, io: executor.io(sources, worker: worker), output: slot.floats)
                        if dtype != .f32 {
                            FloatConversion.encode(dtype, from: slot.floats, count: range.count, into: slot.raw)
                        }
                    },
                    consume: { chunk in
                        let range = ranges[chunk]
                        let slot = slots.current(chunk % window)
                        let bytes = range.count * dtype.byteSize
                        let data = dtype == .f32 ? UnsafeRawPointer(slot.floats) : UnsafeRawPointer(slot.raw)
                        try writer.append(tensor.name, raw: UnsafeRawBufferPointer(start: data, count: bytes))
                        progress?.advance(Double(range.count))
                    })
                if ranges.isEmpty {
                    try writer.append(tensor.name, raw: UnsafeRawBufferPointer(start: nil, count: 0))
                }
            }
        }
    }

    /// Copies a non-floating tensor's bytes from the first input.
    private func copy(_ tensor: MergePlan.Tensor, to writer: ModelWriter) throws {
        let source = tensor.sources[0]
        let total = tensor.elementCount * source.dtype.byteSize
        let step = 1 << 22
        let buffer = scratch[0].raw(bytes: min(max(total, 1), step))
        var done = 0
        repeat {
            let n = min(step, total - done)
            try plan.files.read(file: source.file, offset: source.offset + done, byteCount: n, into: buffer)
            try writer.append(tensor.name, raw: UnsafeRawBufferPointer(start: buffer, count: n))
            done += n
        } while done < total
    }
}

/// The output chunks in flight: each slot holds one chunk's Float32 result and its encoding in the output dtype.
final class OutputSlots: @unchecked Sendable {
    final class Slot: @unchecked Sendable {
        var floats = UnsafeMutablePointer<Float>.allocate(capacity: 1)
        var raw = UnsafeMutableRawPointer.allocate(byteCount: 8, alignment: 64)
        var capacity = 1

        func reserve(_ elements: Int) {
            guard elements > capacity else { return }
            floats.deallocate()
            raw.deallocate()
            capacity = elements
            floats = .allocate(capacity: elements)
            raw = .allocate(byteCount: elements * 8, alignment: 64)
        }

        deinit {
            floats.deallocate()
            raw.deallocate()
        }
    }

    private let slots: [Slot]

    init(count: Int) {
        slots = (0..<count).map { _ in Slot() }
    }

    /// Slot `index`, with room for `elements` (a slot is reused only after its previous chunk was consumed).
    func slot(_ index: Int, elements: Int, dtype: DType) -> Slot {
        slots[index].reserve(elements)
        return slots[index]
    }

    func current(_ index: Int) -> Slot { slots[index] }
}
