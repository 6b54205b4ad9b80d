/// A source of model tensors by Hugging Face name, handed out as Float32 on demand.
///
/// The forward pass asks for one tensor at a time, just before it uses it, into a buffer it reuses; a provider
/// never needs to hold the whole model. Implementations: ``CheckpointWeights`` (one checkpoint's weight files)
/// and ``CombinedWeights`` (θ0 + Σ c_t (θ_t − θ0) over a base and task models, formed on the fly).
public protocol WeightProvider: Sendable {
    /// The shape of tensor `name`, or `nil` when it is not stored.
    func shape(of name: String) -> [Int]?

    /// Writes elements `elements` (flat, row-major) of tensor `name` as Float32 into `buffer`, whose count equals
    /// `elements.count`.
    func load(_ name: String, elements: Range<Int>, into buffer: UnsafeMutableBufferPointer<Float>) throws

    /// Calls `body` with elements `elements` of tensor `name` as contiguous Float32.
    ///
    /// The default loads into `scratch` (count ≥ `elements.count`) and passes that; a provider whose storage is
    /// already aligned Float32 may pass its own memory instead, valid only during `body`.
    func withFloat32<R>(
        _ name: String, elements: Range<Int>, scratch: UnsafeMutableBufferPointer<Float>,
        _ body: (UnsafeBufferPointer<Float>) throws -> R
    ) throws -> R

    /// Whether ``withFloat32(_:elements:scratch:_:)`` passes the provider's own memory for tensor `name` (no
    /// conversion, no copy). The lockstep engine converts tensors that are not lent on both cores itself.
    func lendsFloat32(_ name: String) -> Bool

    /// A hint that tensor `name` is read next: start reading it from disk now. The default does nothing.
    func prefetch(_ name: String)

    /// A hint that tensor `name` will not be read again soon: its pages may leave memory. The default does nothing.
    func evict(_ name: String)

    /// Where the tensors come from, for messages (a checkpoint's directory); `nil` (the default) when there is no
    /// such place.
    var location: String? { get }
}

extension WeightProvider {
    public var location: String? { nil }
    public func lendsFloat32(_ name: String) -> Bool { false }
    public func prefetch(_ name: String) {}
    public func evict(_ name: String) {}

    public func withFloat32<R>(
        _ name: String, elements: Range<Int>, scratch: UnsafeMutableBufferPointer<Float>,
        _ body: (UnsafeBufferPointer<Float>) throws -> R
    ) throws -> R {
        precondition(scratch.count >= elements.count, "scratch buffer too small for \(name)")
        let target = UnsafeMutableBufferPointer(rebasing: scratch[0..<elements.count])
        try load(name, elements: elements, into: target)
        return try body(UnsafeBufferPointer(target))
    }

    /// Writes the whole of tensor `name` into `buffer` (count = the tensor's element count).
    public func load(_ name: String, into buffer: UnsafeMutableBufferPointer<Float>) throws {
        try load(name, elements: 0..<buffer.count, into: buffer)
    }

    /// The whole of tensor `name` as a new array (allocates; for small tensors and tests).
    public func load(_ name: String) throws -> [Float] {
        guard let shape = shape(of: name) else {
            throw TransformerError(.missingTensor, "tensor \(name) is not stored")
        }
        let count = shape.reduce(1, *)
        return try [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            try load(name, elements: 0..<count, into: buffer)
            initialized = count
        }
    }
}
