import Foundation
import Interruption

extension LockstepEngine {
    /// x ← x + Σ_{e routed} w_e · (act(h W_gate,eᵀ) ⊙ h W_up,eᵀ) W_down,eᵀ with h = `normed` (the layer loop has
    /// normalised x into it), for every point of the group (``MixtureOfExperts``).
    ///
    /// Each point routes with its own router θ0 + Σ c τ, so points may send a token to different experts. Per
    /// expert, the blocks of its matrices are read once for the group and formed for each point that routes a token
    /// to it; each such point multiplies only its own routed tokens. An expert no point uses is not read.
    func expertsBlock(
        _ layer: TensorNames.Layer, _ experts: MixtureOfExperts, _ points: [[Float]], _ views: [CombinedWeights],
        _ acts: [PointActivations], _ batch: PromptBatch, _ scratch: EngineScratch
    ) throws {
        let H = config.hiddenSize
        let N = batch.tokenCount
        let E = experts.expertCount
        let I = experts.intermediateSize
        // Per point, in its `experts` region: router logits [N × E], gathered rows, an expert's output and the sum
        // [N × H] each, then gate and up [N × I] unless the dense MLP's buffers hold them.
        let logits = acts.map { $0.experts }
        let gathered = acts.map { $0.experts + N * E }
        let expertOutput = acts.map { $0.experts + N * (E + H) }
        let sum = acts.map { $0.experts + N * (E + 2 * H) }
        let dense = experts.usesDenseBuffers(config)
        let gate = acts.map { dense ? $0.gate : $0.experts + N * (E + 3 * H) }
        let up = acts.map { dense ? $0.up : $0.experts + N * (E + 3 * H + I) }
        try product(
            experts.router(layer), outFeatures: E, inFeatures: H, points, rows: N, scratch,
            input: { UnsafePointer(acts[$0].normed) }, output: { logits[$0] })
        let routes = acts.indices.map { ExpertRoutes(logits: logits[$0], tokenCount: N, experts: experts) }
        for p in acts.indices { sum[p].update(repeating: 0, count: N * H) }
        let gated: (UnsafeMutablePointer<Float>, UnsafePointer<Float>, Int) -> Void =
            switch config.activation {
            case .silu: { Kernels.swiGLU(gate: $0, up: $1, count: $2) }
            case .geluTanh: { Kernels.geluTanhGLU(gate: $0, up: $1, count: $2) }
            case .gelu: { Kernels.geluGLU(gate: $0, up: $1, count: $2) }
            }
        for e in 0..<E {
            try Interruption.check()
            let rows = routes.map { $0.tokens[e].count }
            guard rows.contains(where: { $0 > 0 }) else { continue }
            for p in acts.indices {
                for (i, t) in routes[p].tokens[e].enumerated() {
                    (gathered[p] + i * H).update(from: acts[p].normed + t * H, count: H)
                }
            }
            let names = experts.expert(e, layer)
            try routedProduct(
                names.gate, outFeatures: I, inFeatures: H, points, rows: rows, scratch,
                input: { UnsafePointer(gathered[$0]) }, output: { gate[$0] })
            try routedProduct(
                names.up, outFeatures: I, inFeatures: H, points, rows: rows, scratch,
                input: { UnsafePointer(gathered[$0]) }, output: { up[$0] })
            for p in acts.indices where rows[p] > 0 { gated(gate[p], UnsafePointer(up[p]), rows[p] * I) }
            try routedProduct(
                names.down, outFeatures: H, inFeatures: I, points, rows: rows, scratch,
                input: { UnsafePointer(gate[$0]) }, output: { expertOutput[$0] })
            // transformers: out · w, then index_add_ into the zero-initialised sum, experts in ascending order.
            for p in acts.indices {
                for (i, t) in routes[p].tokens[e].enumerated() {
                    let w = routes[p].weights[e][i]
                    let source = expertOutput[p] + i * H
                    let target = sum[p] + t * H
                    for j in 0..<H { target[j] += source[j] * w }
                }
            }
        }
        for p in acts.indices { Kernels.addInPlace(acts[p].residual, sum[p], count: N * H) }
    }

    /// Y_p[rows_p × outFeatures] = X_p[rows_p × inFeatures] · W_pᵀ for every point p with rows_p > 0 (the others are
    /// neither formed nor multiplied; no input is read when every rows_p is 0).
    ///
    /// Block of weight rows by block, each block of θ0 and the needed θ_t read once for the group; within a block,
    /// strips of about 32 768 elements (`Kernels.formedLinear`): for each point in turn the strip is formed and
    /// multiplied by the point's ~N·k/E routed rows at once, while the strip of θ0 and θ_t is still in cache for the
    /// next point — instead of forming the whole block per point and handing it to sgemm, which reads it back from
    /// memory and packs it again for a product of only ~32 rows.
    /// A non-finite formed weight throws as ``withFormedBlocks(_:elements:_:_:labels:_:)`` does (the same element).
    func routedProduct(
        _ name: String, outFeatures: Int, inFeatures K: Int, _ points: [[Float]], rows: [Int],
        _ scratch: EngineScratch, input: (Int) -> UnsafePointer<Float>, output: (Int) -> UnsafeMutablePointer<Float>
    ) throws {
        let active = points.indices.filter { rows[$0] > 0 }
        guard !active.isEmpty else { return }
        let subset = active.map { points[$0] }
        let needed = neededTasks(subset)
        let terms = subset.map { c in needed.filter { c[$0] != 0 } }
        let coefficients = zip(terms, subset).map { terms, c in terms.map { c[$0] } }
        let inputs = active.map { input($0) }
        let outputs = active.map { output($0) }
        let blockRows = max(1, min(outFeatures, scratchElements / K))
        let stripRows = max(4, 32_768 / K / 4 * 4)
        weightsAhead(name, subset)
        var first = 0
        while first < outFeatures {
            let count = min(blockRows, outFeatures - first)
            let elements = (first * K)..<((first + count) * K)
            try Interruption.check()
            try withInputs(name, elements, needed, scratch) { theta0, thetas in
                let pointers = terms.map { $0.map { thetas[$0] } }
                let formed = scratch.formed
                do {
                    try scratch.profile.measure("expert products (formed in strips)") {
                        try Parallel.forEachPart(count, minimumPart: stripRows) { part in
                            var j = part.lowerBound
                            while j < part.upperBound {
                                let strip = min(stripRows, part.upperBound - j)
                                for k in active.indices {
                                    let finite = pointers[k].withUnsafeBufferPointer { tasks in
                                        coefficients[k].withUnsafeBufferPointer { c in
                                            Kernels.formedLinear(
                                                base: theta0, tasks: tasks, coefficients: c, offset: j * K,
                                                weightRows: strip, inFeatures: K, input: inputs[k], lda: K,
                                                rows: rows[active[k]], into: outputs[k] + first + j, ldc: outFeatures,
                                                formed: formed + j * K)
                                        }
                                    }
                                    guard finite else { throw NonFiniteStrip() }
                                }
                                j += strip
                            }
                        }
                    }
                } catch is NonFiniteStrip {
                    try throwFirstNonFinite(name, elements, theta0, thetas, subset, labels: active, formed)
                }
            }
            first += count
        }
        weightsDone(name, subset)
    }

    /// Finds, point by point in order as ``withFormedBlocks(_:elements:_:_:labels:_:)`` checks them, the first
    /// non-finite weight of the block `elements` of `name` (θ0's own for a point with every c = 0) and throws
    /// ``TransformerError/Kind/nonFinite`` naming it.
    private func throwFirstNonFinite(
        _ name: String, _ elements: Range<Int>, _ theta0: UnsafePointer<Float>, _ thetas: [UnsafePointer<Float>?],
        _ points: [[Float]], labels: [Int], _ formed: UnsafeMutablePointer<Float>
    ) throws {
        let needed = neededTasks(points)
        for (p, c) in points.enumerated() {
            let active = needed.filter { c[$0] != 0 }
            let bad: Int?
            let values: UnsafePointer<Float>
            if active.isEmpty {
                bad = Kernels.firstNonFinite(theta0, count: elements.count)
                values = theta0
            } else {
                let terms = active.map { (thetas[$0]!, c[$0]) }
                bad = Kernels.formPoint(formed, base: theta0, tasks: terms, count: elements.count)
                values = UnsafePointer(formed)
            }
            if let bad {
                throw TransformerError.nonFiniteWeight(
                    name, element: elements.lowerBound + bad, value: values[bad], coefficients: c, point: labels[p])
            }
        }
        preconditionFailure("a strip of \(name) was not finite, but no point's block has a non-finite weight")
    }
}

/// Thrown by a strip of ``LockstepEngine/routedProduct(_:outFeatures:inFeatures:_:rows:_:input:output:)`` whose
/// formed weights are not finite; the block is then searched for the element to name.
private struct NonFiniteStrip: Error {}
