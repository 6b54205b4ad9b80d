/// The buffers of one forward pass, sized for prompts of up to `capacity` tokens and reused by every layer (and,
/// through ``WorkspacePool``, by later passes). Contents are never read before being written, so the buffers are
/// left uninitialised.
final class Workspace {
    /// Longest prompt the buffers hold.
    let capacity: Int
    /// Length of the prompt being processed (≤ capacity).
    var tokenCount: Int = 0
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
    /// With lending providers it is never touched, so never paged in.
    let weight: UnsafeMutableBufferPointer<Float>
    /// A norm weight or a bias vector.
    let vector: UnsafeMutableBufferPointer<Float>

    init(config: TransformerConfig, capacity n: Int, weightCapacity: Int) {
        capacity = n
        func make(_ count: Int) -> UnsafeMutableBufferPointer<Float> {
            UnsafeMutableBufferPointer<Float>.allocate(capacity: max(count, 1))
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
        weight = make(weightCapacity)
        vector = make(max(config.hiddenSize, config.queryWidth))
    }

    deinit {
        for buffer in [residual, normed, query, key, value, attention, scores, gate, up, weight, vector] {
            buffer.deallocate()
        }
    }
}
