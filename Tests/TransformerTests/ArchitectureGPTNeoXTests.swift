import Checkpoints
import Foundation
import SafeTensors
import Testing
import Transformer

/// Parity of the LayerNorm rows of the table (arch-ln) with transformers 5.23, on the references of
/// scripts/fixtures/make_architecture_fixtures_ln.py: every case through ``CombinedWeights`` one prompt at a time,
/// and all cases as lockstep points over one ragged batch.
enum LayerNormFamilyParity {
    static let relativeTolerance: Float = 1e-4

    static func relativeError(_ output: [Float], _ reference: [Float]) -> Float {
        let scale = reference.reduce(Float(0)) { max($0, abs($1)) }
        return maxAbsoluteDifference(output, reference) / max(scale, .leastNormalMagnitude)
    }

    static func checkCombinedWeights(_ set: String) throws {
        let references = try ReferenceSet(set)
        let config = try TransformerConfig(references.base.config)
        #expect(Set(references.prompts.map(\.count)).count == references.prompts.count, "ragged prompts")
        #expect(references.cases.count == 3)
        for referenceCase in references.cases {
            let weights = try CombinedWeights(
                base: references.base, tasks: references.tasks, coefficients: referenceCase.coefficients)
            let model = try CausalLanguageModel(config: config, weights: weights)
            for (k, prompt) in references.prompts.enumerated() {
                let output = try model.forward(prompt)
                let logits = relativeError(output.logits, try references.tensor("\(referenceCase.name).p\(k).logits"))
                let hidden = relativeError(
                    output.hiddenStates, try references.tensor("\(referenceCase.name).p\(k).hidden"))
                #expect(logits <= relativeTolerance, "\(set) \(referenceCase.name) p\(k): logits \(logits)")
                #expect(hidden <= relativeTolerance, "\(set) \(referenceCase.name) p\(k): hidden \(hidden)")
            }
        }
    }

    /// A base-only set: its "alpha0" logits and hidden states, all prompts in one batch through the model.
    static func checkBase(_ set: String) throws {
        let references = try ReferenceSet(set)
        let config = try TransformerConfig(references.base.config)
        let model = try CausalLanguageModel(config: config, weights: CheckpointWeights(references.base))
        for (k, output) in try model.forward(batch: references.prompts).enumerated() {
            let logits = relativeError(output.logits, try references.tensor("alpha0.p\(k).logits"))
            let hidden = relativeError(output.hiddenStates, try references.tensor("alpha0.p\(k).hidden"))
            #expect(logits <= relativeTolerance, "\(set) p\(k): logits \(logits)")
            #expect(hidden <= relativeTolerance, "\(set) p\(k): hidden \(hidden)")
        }
    }

    static func checkLockstep(_ set: String) throws {
        let references = try ReferenceSet(set)
        let config = try TransformerConfig(references.base.config)
        var engine = try LockstepEngine(
            config: config, base: CheckpointWeights(references.base),
            tasks: references.tasks.map { CheckpointWeights($0) })
        engine.blockElements = 100  // several blocks per matrix, and per head part of a fused one
        let points = references.cases.map(\.coefficients)
        let batch = PromptBatch(references.prompts)
        let hidden = try engine.finalHiddenStates(points: points, batch: batch, groupSize: 2)
        let V = config.vocabularySize
        var logits = points.map { _ in [Float](repeating: .nan, count: batch.tokenCount * V) }
        try engine.projectLogits(points: points, hiddenStates: hidden, batch: batch, rows: Array(0..<batch.tokenCount))
        { vocabulary, block in
            for p in points.indices {
                for r in 0..<batch.tokenCount {
                    for j in 0..<vocabulary.count {
                        logits[p][r * V + vocabulary.lowerBound + j] = block[p][r * vocabulary.count + j]
                    }
                }
            }
        }
        for (p, referenceCase) in references.cases.enumerated() {
            for q in references.prompts.indices {
                let rows = batch.rows(of: q)
                let error = relativeError(
                    Array(logits[p][(rows.lowerBound * V)..<(rows.upperBound * V)]),
                    try references.tensor("\(referenceCase.name).p\(q).logits"))
                #expect(error <= relativeTolerance, "\(set) \(referenceCase.name) p\(q): logits \(error)")
            }
        }
    }

    static func checkFeatureEffects(_ set: String) throws {
        let references = try ReferenceSet(set)
        let text = try #require(references.file.metadata["feature_effects"])
        let effects = try JSONDecoder().decode([String: Double].self, from: Data(text.utf8))
        #expect(!effects.isEmpty)
        for (feature, change) in effects {
            #expect(change >= 100 * Double(relativeTolerance), "\(set): \(feature) moves the logits by \(change)")
        }
    }
}

@Suite("GPT-NeoX matches transformers")
struct ArchitectureGPTNeoXTests {
    @Test("every case and prompt through CombinedWeights (parallel residual, partial rotary, fused interleaved qkv)")
    func combinedWeights() throws { try LayerNormFamilyParity.checkCombinedWeights("gpt-neox") }

    @Test("all cases as lockstep points, all ragged prompts in one batch")
    func lockstep() throws { try LayerNormFamilyParity.checkLockstep("gpt-neox") }

    @Test("use_parallel_residual false (sequential block) on the base weights")
    func sequentialVariant() throws {
        let references = try ReferenceSet("gpt-neox")
        let config = try TransformerConfig(json: references.variantConfig("sequential"))
        #expect(!config.parallelResidual)
        let model = try CausalLanguageModel(config: config, weights: CheckpointWeights(references.base))
        for (k, output) in try model.forward(batch: references.prompts).enumerated() {
            let error = LayerNormFamilyParity.relativeError(
                output.logits, try references.tensor("sequential.p\(k).logits"))
            #expect(error <= LayerNormFamilyParity.relativeTolerance, "sequential p\(k): logits \(error)")
        }
    }

    @Test("parallel residual and partial rotary each move transformers' logits far beyond the tolerance")
    func featuresBind() throws { try LayerNormFamilyParity.checkFeatureEffects("gpt-neox") }

    static func fixtureJSON() throws -> [String: JSONValue] {
        try Checkpoint(directory: ReferenceSet.directory.appendingPathComponent("gpt-neox/base")).config.json
    }

    @Test("config.json: LayerNorm, parallel residual, 2 of 8 rotary dims, biases, exact gelu, GPT-NeoX names")
    func config() throws {
        let config = try TransformerConfig(json: Self.fixtureJSON())
        #expect(config.architecture == .gptNeoX && config.naming == .gptNeoX)
        #expect(config.normKind == .layerNorm(bias: true) && config.rmsNormEpsilon == 1e-5)
        #expect(config.parallelResidual && config.rotaryDimension == 2 && config.ropeTheta == 10_000)
        #expect(config.queryKeyValueBias && config.outputProjectionBias && config.activation == .gelu)
        #expect(config.keyValueHeadCount == 4 && config.headDimension == 8 && !config.tieWordEmbeddings)
    }

    @Test("Pythia's older keys: rotary_pct, rotary_emb_base; defaults parallel residual and rotary_pct 0.25")
    func legacyKeys() throws {
        var json = try Self.fixtureJSON()
        json["rope_parameters"] = nil
        json["use_parallel_residual"] = nil
        #expect(try TransformerConfig(json: json).rotaryDimension == 2)
        #expect(try TransformerConfig(json: json).parallelResidual)
        json["rotary_pct"] = .number(0.5)
        json["rotary_emb_base"] = .number(500)
        let config = try TransformerConfig(json: json)
        #expect(config.rotaryDimension == 4 && config.ropeTheta == 500)
    }

    @Test("refused by name: another rope_type, an odd rotary dimension, an unknown activation")
    func refusals() throws {
        var json = try Self.fixtureJSON()
        json["rope_parameters"] = .object(["rope_type": .string("linear"), "factor": .number(2)])
        #expect(throws: TransformerError.self) { try TransformerConfig(json: json) }
        json["rope_parameters"] = .object(["partial_rotary_factor": .number(0.375)])
        #expect(throws: TransformerError.self) { try TransformerConfig(json: json) }
        json["rope_parameters"] = nil
        json["hidden_act"] = .string("relu")
        #expect(throws: TransformerError.self) { try TransformerConfig(json: json) }
    }
}
