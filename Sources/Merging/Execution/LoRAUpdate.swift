import Checkpoints
import Foundation
import SafeTensors

/// The low-rank update a LoRA adapter makes to one input tensor, added when the tensor is read (the adapted model
/// is never written out): W = W0 + s·B·A, or W0 + s·(B·A)ᵀ with `fan_in_fan_out`.
///
/// Arithmetic as PEFT's `merge_and_unload()` on CPU (peft 0.21 `lora.Linear.get_delta_weight`, then
/// `weight.data += delta`): the factors are read as Float32, the product B·A is formed in Float32 and multiplied by
/// s (a Float32 scalar), and the sum with W0 is rounded once to W0's storage dtype (a no-op for F32).
struct LoRAUpdate: Sendable {
    let adapter: LoRAAdapter
    /// The base tensor's name (`M.weight`).
    let name: String
    /// The base tensor's shape [rows, columns].
    let rows: Int
    let columns: Int

    /// Adds the update to elements `elements` (flat, row-major) of the tensor, which `values` holds as Float32
    /// decoded from `storage`; `cache` keeps one module's factors per worker.
    func add(
        elements: Range<Int>, to values: UnsafeMutablePointer<Float>, storage: DType, index: Int,
        cache: LoRAFactorCache
    ) throws {
        let (a, b, rank, scale) = try cache.factors(index, self)
        LoRAAdapter.addUpdate(
            a: a, b: b, rank: rank, scale: scale, transposed: adapter.fanInFanOut, rows: rows, columns: columns,
            elements: elements, to: values)
        if storage != .f32, storage != .f64 { Rounding.round(values, count: elements.count, to: storage) }
    }
}

/// One worker's most recently read LoRA factors, so that the blocks of one tensor read them once: a kernel reads a
/// block of every input in turn, so the factors of up to ``capacity`` updates (one per adapted input of the tensor)
/// are kept, the least recently used dropped first.
final class LoRAFactorCache: @unchecked Sendable {
    typealias Factors = (a: [Float], b: [Float], rank: Int, scale: Float)
    static let capacity = 8
    private var entries: [(index: Int, factors: Factors)] = []

    /// The factors of update number `index` (``WeightFiles``' numbering), read when they are not cached.
    func factors(_ index: Int, _ update: LoRAUpdate) throws -> Factors {
        if let position = entries.firstIndex(where: { $0.index == index }) {
            let entry = entries.remove(at: position)
            entries.append(entry)
            return entry.factors
        }
        guard let factors = try update.adapter.factors(for: update.name) else {
            throw CheckpointError(
                .missingTensor, url: update.adapter.file.url, tensor: update.name, "the adapter has no factors")
        }
        if entries.count == Self.capacity { entries.removeFirst() }
        entries.append((index, factors))
        return factors
    }
}
