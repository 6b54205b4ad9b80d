import Checkpoints
import Foundation

/// The tensors of a base checkpoint with a PEFT LoRA adapter applied: W = W0 + s·B·A (transposed with
/// `fan_in_fan_out`) on the tensors the adapter changes, the base's tensors elsewhere — the model PEFT's
/// `merge_and_unload()` forms, without writing it.
///
/// The update is added to each requested range as it is read, in Float32 as PEFT forms it, with the arithmetic of
/// ``LoRAAdapter/addUpdate(a:b:rank:scale:transposed:rows:columns:elements:to:)`` (what `merge` applies for
/// `BASE+ADAPTER`): each entry of B·A summed over the rank in order, times s, added to W0 — whole rows of the range as
/// contiguous row operations (sixteen columns of Σ_k B[i, k]·A[k, :] at a time), partial rows and `fan_in_fan_out`
/// entry by entry. No BLAS: the engine reads ranges on all cores at once, where BLAS threads would contend. The sum is
/// not rounded to the base's storage dtype (a BF16 merged copy on disk is). The factors of the most recently read
/// module are kept, so the blocks of one tensor read them once. Adapted tensors are never lent from the mapping.
public struct AdaptedWeights: WeightProvider {
    public let base: CheckpointWeights
    public let adapter: LoRAAdapter
    private let cache = FactorCache()

    public init(base: Checkpoint, adapter: LoRAAdapter) {
        self.base = CheckpointWeights(base)
        self.adapter = adapter
    }

    /// The adapter's directory on the base's.
    public var location: String? { base.checkpoint.directory.path + "+" + adapter.directory.path }

    public func shape(of name: String) -> [Int]? {
        base.shape(of: name)
    }

    public func load(_ name: String, elements: Range<Int>, into buffer: UnsafeMutableBufferPointer<Float>) throws {
        try base.load(name, elements: elements, into: buffer)
        guard adapter.updateShape(for: name) != nil, let shape = base.shape(of: name), shape.count == 2,
            let pointer = buffer.baseAddress
        else { return }
        let factors = try factors(name)
        Self.addUpdate(factors, transposed: adapter.fanInFanOut, rows: shape[0], columns: shape[1], elements, pointer)
    }

    /// Adds s·B·A (transposed when `transposed`) to elements `elements` of a [rows, columns] tensor held at `values`:
    /// whole rows a row at a time, the partial rows at either end (and `transposed`) entry by entry; the same Float32
    /// operations in the same order either way.
    static func addUpdate(
        _ factors: (a: [Float], b: [Float], rank: Int, scale: Float), transposed: Bool, rows: Int, columns: Int,
        _ elements: Range<Int>, _ values: UnsafeMutablePointer<Float>
    ) {
        guard columns > 0, !elements.isEmpty else { return }
        let firstRow = (elements.lowerBound + columns - 1) / columns
        let endRow = elements.upperBound / columns
        func entries(_ range: Range<Int>) {
            guard !range.isEmpty else { return }
            LoRAAdapter.addUpdate(
                a: factors.a, b: factors.b, rank: factors.rank, scale: factors.scale, transposed: transposed,
                rows: rows, columns: columns, elements: range, to: values + (range.lowerBound - elements.lowerBound))
        }
        guard firstRow < endRow, !transposed else {
            entries(elements)
            return
        }
        entries(elements.lowerBound..<(firstRow * columns))
        let rank = factors.rank, scale = factors.scale
        factors.a.withUnsafeBufferPointer { a in
            factors.b.withUnsafeBufferPointer { b in
                let a = UnsafeRawPointer(a.baseAddress!)
                for i in firstRow..<endRow {
                    // δ[i, j] = Σ_k B[i, k]·A[k, j] summed over k in order in Float32 (as the entry loop sums it),
                    // then W[i, j] += δ·s; sixteen columns at a time with the sum held in registers.
                    let out = UnsafeMutableRawPointer(values + (i * columns - elements.lowerBound))
                    var j = 0
                    while j + 16 <= columns {
                        var sum = SIMD16<Float>()
                        for k in 0..<rank {
                            sum += SIMD16(repeating: b[i * rank + k])
                                * a.loadUnaligned(fromByteOffset: 4 * (k * columns + j), as: SIMD16<Float>.self)
                        }
                        let w = out.loadUnaligned(fromByteOffset: 4 * j, as: SIMD16<Float>.self)
                        out.storeBytes(of: w + sum * scale, toByteOffset: 4 * j, as: SIMD16<Float>.self)
                        j += 16
                    }
                    entries((i * columns + j)..<((i + 1) * columns))
                }
            }
        }
        entries((endRow * columns)..<elements.upperBound)
    }

    public func withFloat32<R>(
        _ name: String, elements: Range<Int>, scratch: UnsafeMutableBufferPointer<Float>,
        _ body: (UnsafeBufferPointer<Float>) throws -> R
    ) throws -> R {
        guard adapter.updateShape(for: name) != nil else {
            return try base.withFloat32(name, elements: elements, scratch: scratch, body)
        }
        precondition(scratch.count >= elements.count, "scratch buffer too small for \(name)")
        let target = UnsafeMutableBufferPointer(rebasing: scratch[0..<elements.count])
        try load(name, elements: elements, into: target)
        return try body(UnsafeBufferPointer(target))
    }

    public func lendsFloat32(_ name: String) -> Bool {
        adapter.updateShape(for: name) == nil && base.lendsFloat32(name)
    }

    public func prefetch(_ name: String) {
        base.prefetch(name)
    }

    public func evict(_ name: String) {
        base.evict(name)
    }

    /// The factors of module `name`, read once per run of blocks of the same tensor.
    private func factors(_ name: String) throws -> (a: [Float], b: [Float], rank: Int, scale: Float) {
        if let cached = cache.get(), cached.name == name { return cached.factors }
        guard let factors = try adapter.factors(for: name) else {
            throw TransformerError(.missingTensor, "\(adapter.directory.path): no LoRA factors for \(name)")
        }
        cache.set((name, factors))
        return factors
    }

    /// The most recently read module's factors, behind a lock (the engine reads from several threads).
    private final class FactorCache: @unchecked Sendable {
        typealias Entry = (name: String, factors: (a: [Float], b: [Float], rank: Int, scale: Float))
        private let lock = NSLock()
        private var entry: Entry?

        func get() -> Entry? {
            lock.withLock { entry }
        }

        func set(_ value: Entry) {
            lock.withLock { entry = value }
        }
    }
}

extension ModelFamily.Member {
    /// The task model's weights for the forward pass: its checkpoint, or the base with its adapter applied.
    package var weights: any WeightProvider {
        if let adapter { return AdaptedWeights(base: checkpoint, adapter: adapter) }
        return CheckpointWeights(checkpoint)
    }
}
