import Checkpoints
import Foundation
import Testing
import Transformer

/// The routed experts' fused forming and product (`routedProduct`) refuses a non-finite formed expert weight as the
/// dense path does: naming the tensor and the element, for a formed point and for the base point (θ0's own weights).
@Suite("MoE: a non-finite expert weight is named")
struct MoeNonFiniteExpertTests {
    /// Expert 0's down projection of layer 0; 24 tokens top-2 of 4 experts route some token to every expert.
    static let tensor = "model.layers.0.block_sparse_moe.experts.0.w2.weight"
    static let prompt = Array(1...24)

    func engine(poisoning model: Int, value: Float) throws -> LockstepEngine {
        let references = try ReferenceSet("mixtral")
        var providers: [any WeightProvider] = [CheckpointWeights(references.base)]
            + references.tasks.map { CheckpointWeights($0) }
        providers[model] = PoisonedWeights(inner: providers[model], tensor: Self.tensor, element: 3, value: value)
        return try LockstepEngine(
            config: try TransformerConfig(references.base.config), base: providers[0],
            tasks: Array(providers.dropFirst()))
    }

    @Test(
        "a NaN in a task model's expert (formed point) and an Inf in the base's (base point) are named",
        arguments: [(1, Float.nan), (0, Float.infinity)])
    func named(model: Int, value: Float) throws {
        let engine = try engine(poisoning: model, value: value)
        let points: [[Float]] = model == 0 ? [[0, 0]] : [[0, 0], [0.5, 0]]
        let error = try #require(throws: TransformerError.self) {
            try engine.finalHiddenStates(points: points, batch: PromptBatch([Self.prompt]), groupSize: points.count)
        }
        #expect(error.kind == .nonFinite)
        #expect(error.description.contains(Self.tensor) && error.description.contains("element 3"), "\(error)")
    }

    @Test func aPoisonedTaskModelIsHarmlessToPointsThatDoNotUseIt() throws {
        let engine = try engine(poisoning: 1, value: .nan)
        let hidden = try engine.finalHiddenStates(
            points: [[0, 0], [0, 1]], batch: PromptBatch([Self.prompt]), groupSize: 2)
        #expect(hidden.allSatisfy { $0.allSatisfy(\.isFinite) })
    }
}
