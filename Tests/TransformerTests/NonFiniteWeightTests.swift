import Checkpoints
import Foundation
import Testing
import Transformer

/// A provider that returns another's tensors with element `element` of tensor `tensor` replaced by `value`.
struct PoisonedWeights: WeightProvider {
    let inner: any WeightProvider
    let tensor: String
    let element: Int
    let value: Float

    func shape(of name: String) -> [Int]? { inner.shape(of: name) }

    func load(_ name: String, elements: Range<Int>, into buffer: UnsafeMutableBufferPointer<Float>) throws {
        try inner.load(name, elements: elements, into: buffer)
        if name == tensor, elements.contains(element) { buffer[element - elements.lowerBound] = value }
    }
}

/// The lockstep engine refuses a point whose formed weights hold a NaN or ±Inf, naming the tensor — and reads
/// nothing it does not need: a poisoned task model is harmless to points that give it c = 0.
@Suite("Lockstep engine: non-finite weights are named")
struct NonFiniteWeightTests {
    static let matrix = "model.layers.0.mlp.down_proj.weight"
    static let vector = "model.layers.1.input_layernorm.weight"

    func engine(poisoning tensor: String, in model: Int, value: Float = .nan) throws -> LockstepEngine {
        let references = try ReferenceSet("llama-bias")
        var providers: [any WeightProvider] = [CheckpointWeights(references.base)]
            + references.tasks.map { CheckpointWeights($0) }
        providers[model] = PoisonedWeights(inner: providers[model], tensor: tensor, element: 3, value: value)
        return try LockstepEngine(
            config: try TransformerConfig(references.base.config), base: providers[0],
            tasks: Array(providers.dropFirst()))
    }

    @Test(arguments: [(matrix, 1, Float.nan), (vector, 1, .infinity), (matrix, 0, -.infinity), (vector, 0, .nan)])
    func aPointWithANonFiniteWeightIsRefused(tensor: String, model: Int, value: Float) throws {
        let engine = try engine(poisoning: tensor, in: model, value: value)
        let point: [Float] = model == 0 ? [0, 0] : [0.5, 0]
        let error = try #require(throws: TransformerError.self) {
            try engine.finalHiddenStates(points: [point], batch: PromptBatch([[1, 2, 3]]), groupSize: 1)
        }
        #expect(error.kind == .nonFinite)
        #expect(error.description.contains(tensor) && error.description.contains("element 3"), "\(error)")
    }

    @Test func aPoisonedTaskModelIsNotReadByPointsThatDoNotUseIt() throws {
        let engine = try engine(poisoning: Self.matrix, in: 1)
        let hidden = try engine.finalHiddenStates(
            points: [[0, 0], [0, 1]], batch: PromptBatch([[1, 2, 3]]), groupSize: 2)
        #expect(hidden.allSatisfy { $0.allSatisfy(\.isFinite) })
    }
}
