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
            return sum + Double(experts.expertCount) * H
        }
        let weights = 2 * N * (Double(c.layerCount) * projections + mlp + V * H)
        let squares = batch.prompts.reduce(0.0) { $0 + Double($1.count * $1.count) }
        let attention = Double(c.layerCount * c.attentionHeadCount) * 4 * squares * Double(c.headDimension)
        return Double(points) * (weights + attention) + routedExpertFLOPs(points: points, batch: batch)
    }

    /// The part of ``productFLOPs(points:batch:)`` spent in routed experts: P · 2N · Σ_sparse layers k · 3 I_e·H
    /// (0 without experts).
    public func routedExpertFLOPs(points: Int, batch: PromptBatch) -> Double {
        guard let experts = config.experts else { return 0 }
        let sparse = (0..<config.layerCount).filter { experts.isSparse(layer: $0) }.count
        let perToken = Double(experts.expertsPerToken) * 3 * Double(experts.intermediateSize)
            * Double(config.hiddenSize)
        return Double(points) * 2 * Double(batch.tokenCount) * Double(sparse) * perToken
    }

    /// The matrix-product floor in seconds: each product's FLOPs at the rate `cblas_sgemm` reaches now on its own
    /// shape — the batch's N rows for the dense products (``measuredProductRate(batch:tokens:inFeatures:outFeatures:seconds:)``), and for routed
    /// experts the rows one expert multiplies on average, N·k/E (no implementation can batch them further: each
    /// point forms its own expert weights). The rates are measured here, about 2 s each.
    public func productFloor(points: Int, batch: PromptBatch) -> ProductFloor {
        let routed = routedExpertFLOPs(points: points, batch: batch)
        let dense = productFLOPs(points: points, batch: batch) - routed
        let denseRate = measuredProductRate(batch: batch)
        var routedRate: Double? = nil
        var seconds = dense / denseRate
        if let experts = config.experts, routed > 0 {
            let tokens = max(1, batch.tokenCount * experts.expertsPerToken / experts.expertCount)
            let rate = measuredProductRate(
                batch: batch, tokens: tokens, inFeatures: config.hiddenSize, outFeatures: experts.intermediateSize)
            routedRate = rate
            seconds += routed / rate
        }
        return ProductFloor(
            flops: dense + routed, routedFLOPs: routed, seconds: seconds, denseRate: denseRate,
            routedRate: routedRate)
    }

    /// The rate (FLOP/s) of `cblas_sgemm` on this machine now, on the engine's own product shape: the batch's N
    /// rows times one block of the MLP's weight rows (K = H), the weights fresh from memory each time. Runs for
    /// about `seconds`.
    ///
    /// `tokens`, `inFeatures` and `outFeatures` override the product's M (default the batch's N), K (H) and weight
    /// rows (the MLP's I), e.g. for the tokens one routed expert multiplies.
    public func measuredProductRate(
        batch: PromptBatch, tokens: Int? = nil, inFeatures: Int? = nil, outFeatures: Int? = nil, seconds: Double = 2
    ) -> Double {
        let M = tokens ?? batch.tokenCount
        let K = inFeatures ?? config.hiddenSize
        let rows = max(1, min(outFeatures ?? config.intermediateSize, scratchElements / K))
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

/// The matrix-product floor of a run (``LockstepEngine/productFloor(points:batch:)``).
public struct ProductFloor: Sendable {
    /// All matrix-product FLOPs, routed experts included.
    public let flops: Double
    /// The routed experts' share of ``flops``.
    public let routedFLOPs: Double
    /// The floor: dense FLOPs at ``denseRate`` plus routed FLOPs at ``routedRate``.
    public let seconds: Double
    /// sgemm FLOP/s on the dense products' shape.
    public let denseRate: Double
    /// sgemm FLOP/s on one routed expert's shape (nil without experts).
    public let routedRate: Double?
}
