import Checkpoints
import Foundation
import Testing
import Transformer

/// Logits and final hidden states against transformers (float32, eager attention) for θ0 + Σ c_t τ_t.
@Suite("Forward pass matches transformers")
struct ReferenceParityTests {
    static let tolerance: Float = 1e-4

    @Test(
        "every α and prompt, through CombinedWeights",
        arguments: ["qwen2-gqa", "llama-bias"])
    func combinedWeightsMatchReferences(set: String) throws {
        try checkAllCases(ReferenceSet(set))
    }

    @Test(
        "every α and prompt of the bundled tiny family",
        .enabled(if: ReferenceSet.isAvailable("tiny-family"), "examples/tiny-family or its references are absent"))
    func tinyFamilyMatchesReferences() throws {
        try checkAllCases(ReferenceSet("tiny-family"))
    }

    func checkAllCases(_ references: ReferenceSet) throws {
        let config = try TransformerConfig(references.base.config)
        for referenceCase in references.cases {
            let weights = try CombinedWeights(
                base: references.base, tasks: references.tasks, coefficients: referenceCase.coefficients)
            let model = try CausalLanguageModel(config: config, weights: weights)
            var worstLogits: Float = 0
            var worstHidden: Float = 0
            for (k, prompt) in references.prompts.enumerated() {
                let output = try model.forward(prompt)
                let logits = try references.tensor("\(referenceCase.name).p\(k).logits")
                let hidden = try references.tensor("\(referenceCase.name).p\(k).hidden")
                let logitError = maxAbsoluteDifference(output.logits, logits)
                let hiddenError = maxAbsoluteDifference(output.hiddenStates, hidden)
                #expect(
                    logitError <= Self.tolerance,
                    "\(references.name) \(referenceCase.name) prompt \(k): logits max |Δ| = \(logitError)")
                #expect(
                    hiddenError <= Self.tolerance,
                    "\(references.name) \(referenceCase.name) prompt \(k): hidden max |Δ| = \(hiddenError)")
                worstLogits = max(worstLogits, logitError)
                worstHidden = max(worstHidden, hiddenError)
            }
            print(
                "parity \(references.name) \(referenceCase.name) c=\(referenceCase.coefficients): "
                    + "max |Δlogits| = \(worstLogits), max |Δhidden| = \(worstHidden)")
        }
    }

    @Test(
        "a checkpoint on its own (in-place Float32 or converted BF16) matches the α = 0 references",
        arguments: ["qwen2-gqa", "llama-bias"])
    func plainCheckpointMatchesBase(set: String) throws {
        let references = try ReferenceSet(set)
        let model = try CausalLanguageModel(checkpoint: references.base)
        for (k, prompt) in references.prompts.enumerated() {
            let output = try model.forward(prompt)
            #expect(
                maxAbsoluteDifference(output.logits, try references.tensor("alpha0.p\(k).logits")) <= Self.tolerance)
            #expect(
                maxAbsoluteDifference(output.hiddenStates, try references.tensor("alpha0.p\(k).hidden"))
                    <= Self.tolerance)
        }
    }

    @Test("logits of the last position only, none, and a batch agree with the full pass")
    func logitSelectionsAgree() throws {
        let references = try ReferenceSet("llama-bias")
        let model = try CausalLanguageModel(checkpoint: references.tasks[0])
        let prompt = references.prompts[1]
        let full = try model.forward(prompt)
        let last = try model.forward(prompt, logits: .last)
        let none = try model.forward(prompt, logits: .none)
        #expect(last.logitPositions == (prompt.count - 1)..<prompt.count)
        #expect(maxAbsoluteDifference(last.logits, full.logits(at: prompt.count - 1)) <= 1e-5)
        #expect(none.logits.isEmpty && none.logitPositions.isEmpty)
        #expect(maxAbsoluteDifference(none.hiddenStates, full.hiddenStates) == 0)
        let batch = try model.forward(batch: references.prompts)
        #expect(batch.count == references.prompts.count)
        #expect(maxAbsoluteDifference(batch[1].logits, full.logits) <= 1e-5)
    }
}
