import CBLAS
import Foundation

extension LockstepEngine {
    /// The floating-point operations of the matrix products of ``finalHiddenStates(points:batch:groupSize:progress:)``
    /// and ``projectLogits(points:hiddenStates:batch:rows:progress:_:)`` (all rows) for `points` points on `batch`:
    ///
    ///     P · [ 2N · (Σ_layers (qW·H + 2 kvW·H + H·qW + 3 I·H) + V·H)  +  layers · heads · Σ_q 4 n_q² d ]
    ///
    /// (a multiply-add counts 2; the attention term counts the full n×n score and weighted-sum products BLAS runs).
    /// On a layer with routed experts (``MixtureOfExperts``) the MLP term 3 I·H is E·H (router) + k · 3 I_e·H (each
    /// token through k experts of width I_e).
    /// Forming weights, norms and the softmax are left out: the figure is the matrix-product floor's numerator.
    public func productFLOPs(points: Int, batch: PromptBatch) -> Double {
        let c = config
        let N = Double(batch.tokenCount)
        let H = Double(c.hiddenSize), I = Double(c.intermediateSize)
        let qW = Double(c.queryWidth), kvW = Double(c.keyValueWidth), V = Double(c.vocabularySize)
        let projections = qW * H + 2 * kvW * H + H * qW
        let mlp = (0..<c.layerCount).reduce(0.0) { sum, layer in
            guard let experts = c.experts, experts.isSparse(layer: layer) else { return sum + 3 * I * H }
            let width = Double(experts.intermediateSize)
            return sum + Double(experts.expertCount) * H + Double(experts.expertsPerToken) * 3 * width * H
        }
        let weights = 2 * N * (Double(c.layerCount) * projections + mlp + V * H)
        let squares = batch.prompts.reduce(0.0) { $0 + Double($1.count * $1.count) }
        let attention = Double(c.layerCount * c.attentionHeadCount) * 4 * squares * Double(c.headDimension)
        return Double(points) * (weights + attention)
    }

    /// The rate (FLOP/s) of `cblas_sgemm` on this machine now, on the engine's own product shape: the batch's N
    /// rows times one block of the MLP's weight rows (K = H), the weights fresh from memory each time. Runs for
    /// about `seconds`.
    public func measuredProductRate(batch: PromptBatch, seconds: Double = 2) -> Double {
        let M = batch.tokenCount
        let K = config.hiddenSize
        let rows = max(1, min(config.intermediateSize, scratchElements / K))
        // Several distinct weight blocks, so the weights come from memory as in the engine, not from cache.
        let blocks = 16
        let a = UnsafeMutableBufferPointer<Float>.allocate(capacity: M * K)
        let w = UnsafeMutableBufferPointer<Float>.allocate(capacity: blocks * rows * K)
        let c = UnsafeMutableBufferPointer<Float>.allocate(capacity: M * rows)
        defer { a.deallocate(); w.deallocate(); c.deallocate() }
        for i in a.indices { a[i] = Float(i % 7) * 0.01 }
        for i in w.indices { w[i] = Float(i % 5) * 0.01 }
        var products = 0
        let start = DispatchTime.now().uptimeNanoseconds
        var elapsed = 0.0
        while elapsed < seconds || products < 8 {
            let block = w.baseAddress! + (products % blocks) * rows * K
            Kernels.linear(
                a.baseAddress!, lda: K, rows: M, inFeatures: K, weight: block, outFeatures: rows,
                into: c.baseAddress!, ldc: rows)
            products += 1
            elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }
        return Double(products) * 2 * Double(M) * Double(K) * Double(rows) / elapsed
    }
}
