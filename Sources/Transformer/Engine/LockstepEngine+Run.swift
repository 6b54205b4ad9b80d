import Foundation
import Interruption

extension LockstepEngine {
    /// Runs every point through the embedding and all layers and returns, per point, the final hidden states
    /// (after the final RMSNorm), row-major [N × H] with prompt q at rows `batch.rows(of: q)`.
    ///
    /// - Parameters:
    ///   - points: coefficient rows c_p (one per task model; all zero is the base).
    ///   - groupSize: points advanced together; the layer weights are read ⌈points / groupSize⌉ times.
    ///   - progress: called after each layer of each group with (done, total) layer steps.
    public func finalHiddenStates(
        points: [[Float]], batch: PromptBatch, groupSize: Int, progress: ((Int, Int) -> Void)? = nil
    ) throws -> [[Float]] {
        try check(batch)
        try checkPoints(points)
        guard !points.isEmpty else { return [] }
        let profile = EngineProfile()
        let started = DispatchTime.now().uptimeNanoseconds
        defer { profile.report("layers", total: Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9) }
        let G = max(1, min(groupSize, points.count))
        let groups = stride(from: 0, to: points.count, by: G).map { $0..<min($0 + G, points.count) }
        let scratch = EngineScratch(
            inputs: tasks.count + 1, elements: scratchElements, scores: batch.longest, profile: profile)
        let activations = (0..<G).map { _ in PointActivations(config: config, tokenCount: batch.tokenCount) }
        let plans = layerPlans(batch)
        let H = config.hiddenSize
        let N = batch.tokenCount
        let naming = config.layerNaming
        var result: [[Float]] = []
        var done = 0
        let total = groups.count * config.layerCount
        for group in groups {
            let coefficients = Array(points[group])
            let views = try coefficients.map { try CombinedWeights(base: base, tasks: tasks, coefficients: $0) }
            let acts = Array(activations.prefix(group.count))
            // Embedding lookup: only the prompts' rows are read.
            for (p, view) in views.enumerated() {
                var row = 0
                for prompt in batch.prompts {
                    try Interruption.check()
                    for id in prompt {
                        try view.load(
                            config.embeddingName, elements: (id * H)..<((id + 1) * H),
                            into: UnsafeMutableBufferPointer(start: acts[p].residual + row * H, count: H))
                        row += 1
                    }
                }
                if config.scalesEmbeddings { Kernels.scale(acts[p].residual, count: N * H, by: embeddingScale) }
                if let multiplier = config.embeddingMultiplier {
                    Kernels.scale(acts[p].residual, count: N * H, by: Float(multiplier))
                }
                if let positions = naming.positionEmbedding {
                    try addPositionEmbeddings(positions, view, acts[p].residual, batch)
                }
            }
            for layer in 0..<config.layerCount {
                try Interruption.check()
                try self.layer(layer, naming, plans[layer], coefficients, views, acts, batch, scratch)
                done += 1
                progress?(done, total)
            }
            for (p, view) in views.enumerated() {
                result.append(
                    try [Float](unsafeUninitializedCapacity: N * H) { buffer, initialized in
                        try applyNorm(
                            naming.finalNorm, view, acts[p].residual, rows: N, into: buffer.baseAddress!, scratch)
                        initialized = N * H
                    })
            }
        }
        return result
    }

    /// Computes the logits of rows `rows` (indices into the batch's N rows) for every point, one block of
    /// vocabulary entries at a time, and hands each block to `body` before computing the next.
    ///
    /// `body(vocabulary, logits)` receives the block's vocabulary range and, per point, a row-major
    /// [rows.count × vocabulary.count] buffer valid only during the call. The output projection's block of each
    /// point is formed from one read of the inputs' block, as the layers are.
    public func projectLogits(
        points: [[Float]], hiddenStates: [[Float]], batch: PromptBatch, rows: [Int],
        progress: ((Int, Int) -> Void)? = nil,
        _ body: (Range<Int>, [UnsafePointer<Float>]) throws -> Void
    ) throws {
        try checkPoints(points)
        precondition(hiddenStates.count == points.count, "one hidden-state matrix per point")
        let H = config.hiddenSize
        let V = config.vocabularySize
        let R = rows.count
        guard R > 0, !points.isEmpty else { return }
        let blockRows = vocabularyBlockRows
        let profile = EngineProfile()
        let started = DispatchTime.now().uptimeNanoseconds
        defer {
            profile.report("output projection", total: Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
        }
        let scratch = EngineScratch(inputs: tasks.count + 1, elements: scratchElements, scores: 0, profile: profile)
        // The rows asked for, gathered contiguously per point.
        let gathered = UnsafeMutableBufferPointer<Float>.allocate(capacity: points.count * R * H)
        defer { gathered.deallocate() }
        for p in points.indices {
            hiddenStates[p].withUnsafeBufferPointer { hidden in
                for (k, row) in rows.enumerated() {
                    (gathered.baseAddress! + (p * R + k) * H).update(from: hidden.baseAddress! + row * H, count: H)
                }
            }
        }
        let logits = UnsafeMutableBufferPointer<Float>.allocate(capacity: points.count * R * blockRows)
        defer { logits.deallocate() }
        let blocks = (V + blockRows - 1) / blockRows
        weightsAhead(outputProjectionName, points)
        for b in 0..<blocks {
            try Interruption.check()
            let first = b * blockRows
            let count = min(blockRows, V - first)
            try withFormedBlocks(outputProjectionName, elements: (first * H)..<((first + count) * H), points, scratch) {
                p, weight in
                scratch.profile.measure("products") {
                    Kernels.linear(
                        gathered.baseAddress! + p * R * H, lda: H, rows: R, inFeatures: H, weight: weight,
                        outFeatures: count, into: logits.baseAddress! + p * R * blockRows, ldc: count)
                }
                if let scaling = config.logitsScaling {
                    Kernels.divide(logits.baseAddress! + p * R * blockRows, count: R * count, by: Float(scaling))
                }
                if let scale = config.logitScale {
                    Kernels.scale(logits.baseAddress! + p * R * blockRows, count: R * count, by: Float(scale))
                }
                if let cap = config.finalLogitSoftCap {
                    Kernels.softCap(logits.baseAddress! + p * R * blockRows, count: R * count, cap: Float(cap))
                }
            }
            try checkLogits(logits.baseAddress!, points: points, rows: rows, batch: batch, count: count, first: first)
            try scratch.profile.measure("metrics") {
                try body(
                    first..<(first + count),
                    points.indices.map { UnsafePointer(logits.baseAddress! + $0 * R * blockRows) })
            }
            progress?(b + 1, blocks)
        }
        weightsDone(outputProjectionName, points)
    }

    /// Throws ``TransformerError/Kind/nonFinite`` naming the point, the prompt, the position and the vocabulary id
    /// of the first NaN or ±Inf logit in one vocabulary block (`count` entries from `first`) of every point.
    private func checkLogits(
        _ logits: UnsafePointer<Float>, points: [[Float]], rows: [Int], batch: PromptBatch, count: Int, first: Int
    ) throws {
        let R = rows.count
        let stride = vocabularyBlockRows
        for p in points.indices {
            let block = logits + p * R * stride
            guard let bad = Kernels.firstNonFinite(block, count: R * count) else { continue }
            let k = bad / count
            let row = rows[k]
            let prompt = batch.offsets.lastIndex { $0 <= row } ?? 0
            let subject =
                points[p].allSatisfy { $0 == 0 } ? "the model" : "point \(p) (θ0 + Σ c·τ with c = \(points[p]))"
            throw TransformerError(
                .nonFinite,
                "the logits of \(subject) are not finite: prompt \(prompt), position \(row - batch.offsets[prompt]), "
                    + "vocabulary id \(first + bad % count) is \(block[bad]) (the weights are finite: the activations "
                    + "overflow Float32)",
                prompt: prompt)
        }
    }

    // MARK: - Products

    /// Y_p[M × outFeatures] (+)= X_p[M × inFeatures] · W_pᵀ for every point p, block of weight rows by block.
    ///
    /// With `firstRow` > 0, W is rows firstRow..<firstRow + outFeatures of the stored tensor (one part of a fused
    /// projection such as Phi-3's `qkv_proj`); `finishesTensor` false keeps the tensor's pages for the next part.
    func product(
        _ name: String, firstRow: Int = 0, outFeatures: Int, inFeatures K: Int, _ points: [[Float]], rows M: Int,
        _ scratch: EngineScratch, input: (Int) -> UnsafePointer<Float>, output: (Int) -> UnsafeMutablePointer<Float>,
        accumulate: Bool = false, finishesTensor: Bool = true
    ) throws {
        if firstRow == 0 { weightsAhead(name, points) }
        try product(
            name, rows: firstRow..<(firstRow + outFeatures), inFeatures: K, points, tokens: M, scratch, input: input,
            output: output, ldc: outFeatures, accumulate: accumulate)
        if finishesTensor { weightsDone(name, points) }
    }

    // MARK: - Forming a point's block from one read of the inputs

    /// The task models some point of `points` needs (c ≠ 0), in order.
    func neededTasks(_ points: [[Float]]) -> [Int] {
        tasks.indices.filter { t in points.contains { $0[t] != 0 } }
    }

    /// Asks the providers to read tensor `name` now and the matrix after it in the pass's order too, so the disk
    /// works on the next matrix while this one is multiplied.
    func weightsAhead(_ name: String, _ points: [[Float]]) {
        for tensor in [name] + (matrixAfter(name).map { [$0] } ?? []) {
            base.prefetch(tensor)
            for t in neededTasks(points) { tasks[t].prefetch(tensor) }
        }
    }

    /// The weight matrix the pass multiplies after `name`: q, k, v, o, gate, up, down of each layer (qkv, o,
    /// gate_up, down when fused), then the output projection.
    private func matrixAfter(_ name: String) -> String? {
        let order =
            config.fusedProjections
            ? ["self_attn.qkv_proj", "self_attn.o_proj", "mlp.gate_up_proj", "mlp.down_proj"]
            : [
                "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj", "mlp.gate_proj",
                "mlp.up_proj", "mlp.down_proj",
            ]
        for layer in 0..<config.layerCount {
            let names = TensorNames.Layer(layer)
            for (k, matrix) in order.enumerated() where name == names.prefix + matrix + ".weight" {
                if k + 1 < order.count { return names.prefix + order[k + 1] + ".weight" }
                return layer + 1 < config.layerCount
                    ? TensorNames.Layer(layer + 1).prefix + order[0] + ".weight" : outputProjectionName
            }
        }
        return nil
    }

    func weightsDone(_ name: String, _ points: [[Float]]) {
        guard evictsInputs else { return }
        base.evict(name)
        for t in neededTasks(points) { tasks[t].evict(name) }
    }

    /// Reads elements `elements` of tensor `name` from θ0 and each needed θ_t once, then calls `body(p, W_p)` for
    /// each point with its formed block (valid only during the call).
    ///
    /// Every formed block (and θ0's, once, when a point is the base) is checked while it is hot in cache: a NaN or
    /// ±Inf throws ``TransformerError/Kind/nonFinite`` naming the tensor, the element and the point (its entry of
    /// `labels` when given: the index of `points[p]` in the caller's list).
    func withFormedBlocks(
        _ name: String, elements: Range<Int>, _ points: [[Float]], _ scratch: EngineScratch, labels: [Int]? = nil,
        _ body: (Int, UnsafePointer<Float>) throws -> Void
    ) throws {
        let needed = neededTasks(points)
        let n = elements.count
        try withInputs(name, elements, needed, scratch) { theta0, thetas in
            let formed = scratch.formed
            var baseChecked = false
            for (p, c) in points.enumerated() {
                let active = needed.filter { c[$0] != 0 }
                guard !active.isEmpty else {
                    if !baseChecked {
                        try scratch.profile.measure("forming") {
                            try Parallel.forEachPart(n) { part in
                                if let bad = Kernels.firstNonFinite(theta0 + part.lowerBound, count: part.count) {
                                    let index = part.lowerBound + bad
                                    throw TransformerError.nonFiniteWeight(
                                        name, element: elements.lowerBound + index, value: theta0[index],
                                        coefficients: c, point: labels?[p] ?? p)
                                }
                            }
                        }
                        baseChecked = true
                    }
                    try body(p, theta0)
                    continue
                }
                try scratch.profile.measure("forming") {
                    try Parallel.forEachPart(n) { part in
                        let out = formed + part.lowerBound
                        let terms = active.map { (thetas[$0]! + part.lowerBound, c[$0]) }
                        if let bad = Kernels.formPoint(
                            out, base: theta0 + part.lowerBound, tasks: terms, count: part.count)
                        {
                            throw TransformerError.nonFiniteWeight(
                                name, element: elements.lowerBound + part.lowerBound + bad, value: out[bad],
                                coefficients: c, point: labels?[p] ?? p)
                        }
                    }
                }
                try body(p, UnsafePointer(formed))
            }
        }
    }

    /// Calls `body(θ0, [θ_t or nil])` with elements `elements` of tensor `name` as Float32 from the base and each
    /// needed task model: lent mapped memory where the provider lends it, else converted into scratch on all cores.
    func withInputs(
        _ name: String, _ elements: Range<Int>, _ needed: [Int], _ scratch: EngineScratch,
        _ body: (UnsafePointer<Float>, [UnsafePointer<Float>?]) throws -> Void
    ) throws {
        var pointers = [UnsafePointer<Float>?](repeating: nil, count: tasks.count + 1)
        let order = [0] + needed.map { $0 + 1 }
        func step(_ i: Int) throws {
            if i == order.count {
                try body(pointers[0]!, Array(pointers[1...]))
                return
            }
            let k = order[i]
            let provider = k == 0 ? base : tasks[k - 1]
            let buffer = UnsafeMutableBufferPointer(rebasing: scratch.inputs[k][0..<elements.count])
            if provider.lendsFloat32(name) {
                try provider.withFloat32(name, elements: elements, scratch: buffer) { view in
                    pointers[k] = view.baseAddress!
                    try step(i + 1)
                }
                return
            }
            let start = elements.lowerBound
            try scratch.profile.measure("reading") {
                try Parallel.forEachPart(elements.count) { part in
                    try provider.load(
                        name, elements: (start + part.lowerBound)..<(start + part.upperBound),
                        into: UnsafeMutableBufferPointer(rebasing: buffer[part]))
                }
            }
            pointers[k] = UnsafePointer(buffer.baseAddress!)
            try step(i + 1)
        }
        try step(0)
    }
}

/// The engine's reused buffers: one block per input (θ0, each θ_t), one formed block, a vector, attention scores.
final class EngineScratch {
    let inputs: [UnsafeMutableBufferPointer<Float>]
    let formed: UnsafeMutablePointer<Float>
    let scores: UnsafeMutablePointer<Float>
    let profile: EngineProfile
    private let vectorStorage: UnsafeMutableBufferPointer<Float>
    private let formedStorage: UnsafeMutableBufferPointer<Float>
    private let scoreStorage: UnsafeMutableBufferPointer<Float>

    init(inputs count: Int, elements: Int, scores longest: Int, profile: EngineProfile) {
        self.profile = profile
        inputs = (0..<count).map { _ in .allocate(capacity: elements) }
        formedStorage = .allocate(capacity: elements)
        formed = formedStorage.baseAddress!
        vectorStorage = .allocate(capacity: elements)
        scoreStorage = .allocate(capacity: max(1, longest * longest))
        scores = scoreStorage.baseAddress!
    }

    var vectorBase: UnsafeMutablePointer<Float> { vectorStorage.baseAddress! }

    /// The first `count` floats of the vector buffer (a norm weight or a bias).
    func vector(_ count: Int) -> UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(rebasing: vectorStorage[0..<count])
    }

    deinit {
        for buffer in inputs + [formedStorage, vectorStorage, scoreStorage] { buffer.deallocate() }
    }
}
