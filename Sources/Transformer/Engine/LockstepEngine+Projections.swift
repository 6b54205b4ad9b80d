import Foundation
import Interruption

/// The weight products of the layers besides the plain one (`product(_:firstRow:outFeatures:…)`): row ranges with
/// an output stride, weights stored `[in, out]` (GPT-2's `Conv1D`); and the learned positions.
extension LockstepEngine {
    /// Y_p[M × rows.count] (+)= X_p[M × K] · W_p[rows]ᵀ for every point p, where W_p[rows] are rows `rows` of the
    /// stored [·, K] tensor `name`; Y_p's rows have stride `ldc`.
    func product(
        _ name: String, rows: Range<Int>, inFeatures K: Int, _ points: [[Float]], tokens M: Int,
        _ scratch: EngineScratch, input: (Int) -> UnsafePointer<Float>, output: (Int) -> UnsafeMutablePointer<Float>,
        ldc: Int, accumulate: Bool = false
    ) throws {
        let blockRows = max(1, min(rows.count, scratchElements / K))
        var first = rows.lowerBound
        while first < rows.upperBound {
            let count = min(blockRows, rows.upperBound - first)
            let offset = first - rows.lowerBound
            try withFormedBlocks(name, elements: (first * K)..<((first + count) * K), points, scratch) { p, weight in
                try Interruption.check()
                scratch.profile.measure("products") {
                    Kernels.linear(
                        input(p), lda: K, rows: M, inFeatures: K, weight: weight, outFeatures: count,
                        into: output(p) + offset, ldc: ldc, accumulate: accumulate)
                }
            }
            first += count
        }
    }

    /// residual[rows of prompt q] += positions[0 ..< n_q] (learned absolute positions, GPT-2's `wpe`).
    func addPositionEmbeddings(
        _ name: String, _ view: CombinedWeights, _ residual: UnsafeMutablePointer<Float>, _ batch: PromptBatch
    ) throws {
        let H = config.hiddenSize
        let count = batch.longest * H
        let rows = try [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            try view.load(name, elements: 0..<count, into: buffer)
            initialized = count
        }
        for q in batch.prompts.indices {
            let range = batch.rows(of: q)
            Kernels.addInPlace(residual + range.lowerBound * H, rows, count: range.count * H)
        }
    }

    /// Y_p (+)= X_p · W_pᵀ (+ b_p when `bias`) for every point p, W the module `module` of layer l (stored as
    /// ``projection(_:_:outFeatures:inFeatures:_:rows:_:input:output:accumulate:)`` reads it), b its bias.
    func biasedProjection(
        _ l: Int, _ naming: TensorNaming, _ module: String, bias: Bool, outFeatures: Int, inFeatures K: Int,
        _ points: [[Float]], _ views: [CombinedWeights], rows M: Int, _ scratch: EngineScratch,
        input: (Int) -> UnsafePointer<Float>, output: @escaping (Int) -> UnsafeMutablePointer<Float>,
        accumulate: Bool = false
    ) throws {
        try projection(
            naming, naming.layerTensor(l, module), outFeatures: outFeatures, inFeatures: K, points, rows: M, scratch,
            input: input, output: output, accumulate: accumulate)
        guard bias else { return }
        for (p, view) in views.enumerated() {
            try view.load(naming.layerTensor(l, module, "bias"), into: scratch.vector(outFeatures))
            Kernels.addBias(output(p), rows: M, width: outFeatures, bias: scratch.vectorBase)
        }
    }

    /// Y_p (+)= X_p · W_pᵀ for a projection stored `[out, in]`, or X_p · W_p for one stored `[in, out]`
    /// (``TensorNaming/transposedWeights``).
    func projection(
        _ naming: TensorNaming, _ name: String, outFeatures: Int, inFeatures K: Int, _ points: [[Float]], rows M: Int,
        _ scratch: EngineScratch, input: (Int) -> UnsafePointer<Float>,
        output: @escaping (Int) -> UnsafeMutablePointer<Float>, accumulate: Bool = false
    ) throws {
        if naming.transposedWeights {
            try transposedProduct(
                name, inFeatures: K, outFeatures: outFeatures, points, tokens: M, scratch, input: input,
                outputs: [(0..<outFeatures, outFeatures, output)], accumulate: accumulate)
        } else {
            try product(
                name, outFeatures: outFeatures, inFeatures: K, points, rows: M, scratch, input: input, output: output,
                accumulate: accumulate)
        }
    }

    /// For a weight stored `[K, O]` (y = x W): Y_c,p (+)= X_p · W_p[:, c] for each output column range c, with
    /// row stride ldc_c, formed block of W's rows (input features) by block; the first block overwrites unless
    /// `accumulate`, later blocks add.
    func transposedProduct(
        _ name: String, inFeatures K: Int, outFeatures O: Int, _ points: [[Float]], tokens M: Int,
        _ scratch: EngineScratch, input: (Int) -> UnsafePointer<Float>,
        outputs: [(columns: Range<Int>, ldc: Int, target: (Int) -> UnsafeMutablePointer<Float>)],
        accumulate: Bool = false
    ) throws {
        precondition(O <= scratchElements, "a row of \(name) (\(O)) exceeds the scratch block (\(scratchElements))")
        weightsAhead(name, points)
        defer { weightsDone(name, points) }
        let blockRows = max(1, min(K, scratchElements / O))
        var first = 0
        while first < K {
            let count = min(blockRows, K - first)
            let adds = accumulate || first > 0
            try withFormedBlocks(name, elements: (first * O)..<((first + count) * O), points, scratch) { p, weight in
                try Interruption.check()
                scratch.profile.measure("products") {
                    for (columns, ldc, target) in outputs {
                        Kernels.linearTransposed(
                            input(p) + first, lda: K, rows: M, inFeatures: count, weight: weight + columns.lowerBound,
                            ldw: O, outFeatures: columns.count, into: target(p), ldc: ldc, accumulate: adds)
                    }
                }
            }
            first += count
        }
    }
}
