/// The buffers of one forward pass, allocated once per prompt and reused by every layer.
final class Workspace {
    let tokenCount: Int
    /// Residual stream x, [n × H].
    let residual: UnsafeMutableBufferPointer<Float>
    /// Normalised input of a block, [n × H].
    let normed: UnsafeMutableBufferPointer<Float>
    let query: UnsafeMutableBufferPointer<Float>
    let key: UnsafeMutableBufferPointer<Float>
    let value: UnsafeMutableBufferPointer<Float>
    /// Concatenated head outputs, [n × heads·d].
    let attention: UnsafeMutableBufferPointer<Float>
    /// Attention probabilities of one head, [n × n].
    let scores: UnsafeMutableBufferPointer<Float>
    let gate: UnsafeMutableBufferPointer<Float>
    let up: UnsafeMutableBufferPointer<Float>
    /// One weight matrix (or a block of output-projection rows) when the provider cannot lend its own memory.
    let weight: UnsafeMutableBufferPointer<Float>
    /// A norm weight or a bias vector.
    let vector: UnsafeMutableBufferPointer<Float>

    init(config: TransformerConfig, tokenCount n: Int, weightCapacity: Int) {
        tokenCount = n
        func make(_ count: Int) -> UnsafeMutableBufferPointer<Float> {
            let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(count, 1))
            buffer.initialize(repeating: 0)
            return buffer
        }
        residual = make(n * config.hiddenSize)
        normed = make(n * config.hiddenSize)
        query = make(n * config.queryWidth)
        key = make(n * config.keyValueWidth)
        value = make(n * config.keyValueWidth)
        attention = make(n * config.queryWidth)
        scores = make(n * n)
        gate = make(n * config.intermediateSize)
        up = make(n * config.intermediateSize)
        // Left uninitialised: with zero-copy providers it is never touched, so never paged in.
        weight = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(weightCapacity, 1))
        vector = make(max(config.hiddenSize, config.queryWidth))
    }

    deinit {
        for buffer in [residual, normed, query, key, value, attention, scores, gate, up, weight, vector] {
            buffer.deallocate()
        }
    }
}
