/// The activations of one weight point over a prompt batch of N tokens, in one allocation: the residual stream
/// (the only part carried from layer to layer) and the per-layer intermediates.
///
/// Floats per token: 2H (residual, normed) + 2·qW (query, attention) + 2·kvW (key, value) + 2I (gate, up), and
/// with experts those of ``MixtureOfExperts/floatsPerToken(_:)`` (``experts``).
final class PointActivations {
    let residual: UnsafeMutablePointer<Float>
    let normed: UnsafeMutablePointer<Float>
    let query: UnsafeMutablePointer<Float>
    let key: UnsafeMutablePointer<Float>
    let value: UnsafeMutablePointer<Float>
    let attention: UnsafeMutablePointer<Float>
    let gate: UnsafeMutablePointer<Float>
    let up: UnsafeMutablePointer<Float>
    /// The routed MLP's buffers (``MixtureOfExperts/floatsPerToken(_:)`` per token; none without experts).
    let experts: UnsafeMutablePointer<Float>
    private let storage: UnsafeMutableBufferPointer<Float>

    static func floatsPerToken(_ config: TransformerConfig) -> Int {
        2 * config.hiddenSize + 2 * config.queryWidth + 2 * config.keyValueWidth + 2 * config.intermediateSize
            + MixtureOfExperts.floatsPerToken(config)
    }

    init(config: TransformerConfig, tokenCount n: Int) {
        storage = .allocate(capacity: max(1, n * Self.floatsPerToken(config)))
        var next = storage.baseAddress!
        func take(_ width: Int) -> UnsafeMutablePointer<Float> {
            defer { next += n * width }
            return next
        }
        residual = take(config.hiddenSize)
        normed = take(config.hiddenSize)
        query = take(config.queryWidth)
        key = take(config.keyValueWidth)
        value = take(config.keyValueWidth)
        attention = take(config.queryWidth)
        gate = take(config.intermediateSize)
        up = take(config.intermediateSize)
        experts = take(MixtureOfExperts.floatsPerToken(config))
    }

    deinit { storage.deallocate() }
}
