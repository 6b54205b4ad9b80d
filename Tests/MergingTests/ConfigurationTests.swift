import Foundation
import Merging
import SafeTensors
import Statistics
import TestSupport
import Testing

@Suite("Merge configuration")
struct ConfigurationTests {
    static let directory = URL(fileURLWithPath: "/tmp")

    func parse(_ yaml: String) throws -> MergeConfiguration {
        try MergeConfiguration(yaml: yaml, directory: Self.directory)
    }

    /// The error a config gives, checked to be one line.
    func failure(_ yaml: String) -> MergeConfigError? {
        do {
            _ = try parse(yaml)
            return nil
        } catch let error as MergeConfigError {
            #expect(!error.description.contains("\n"), "error should be one line: \(error)")
            return error
        } catch {
            Issue.record("unexpected error type: \(error)")
            return nil
        }
    }

    @Test func parsesAMergeKitConfig() throws {
        let config = try parse(
            """
            models:
              - model: ./a
                parameters:
                  weight: 0.5
                  density: [0.2, 0.8]
              - model: ./b
                parameters:
                  weight:
                    - filter: mlp
                      value: 0.3
                    - value: 0.7
            base_model: ./base
            merge_method: ties
            parameters:
              normalize: false
              int8_mask: true
            dtype: float32
            out_dtype: bfloat16
            tokenizer_source: base
            """)
        #expect(config.method == .ties)
        #expect(config.models.map(\.reference) == ["./a", "./b"])
        #expect(config.baseModel == "./base")
        #expect(config.dtype == .f32)
        #expect(config.outDtype == .bf16)
        #expect(config.tokenizerSource == "base")
        #expect(config.models[0].parameters["density"] == .gradient([.number(0.2), .number(0.8)]))
        #expect(config.parameters["normalize"] == .scalar(.bool(false)))
        guard case .conditional(let conditions) = config.models[1].parameters["weight"] else {
            Issue.record("expected conditionals")
            return
        }
        #expect(conditions.map(\.filter) == ["mlp", nil])
    }

    @Test(arguments: [
        (
            "slices:\n  - sources: [{model: a, layer_range: [0, 1]}]\n    residual_weight: 0.5\nmerge_method: linear\n",
            "residual_weight"
        ),
        ("modules: {}\nmodels: [{model: a}]\nmerge_method: linear\n", "modules"),
        ("models: [{model: a}]\nmerge_method: linear\nchat_template: chatml\n", "chat_template"),
    ])
    func refusesUnsupportedKeysByName(yaml: String, key: String) {
        let error = failure(yaml)
        #expect(error?.kind == .unsupportedKey)
        #expect(error?.description.contains(key) == true, "\(String(describing: error)) should name \(key)")
    }

    @Test func refusesAnUnknownMethod() {
        let error = failure("models: [{model: a}]\nmerge_method: tiez\n")
        #expect(error?.kind == .unknownMethod)
        #expect(error?.description.contains("unknown merge_method 'tiez'") == true)
        #expect(error?.description.contains("ties") == true)
        // Every MergeKit 0.1.5 method is implemented: the formerly refused ones now parse.
        for name in ["nuslerp", "multislerp", "karcher", "nearswap", "arcee_fusion", "ram", "ramplus_tl"] {
            #expect(MergeMethod(rawValue: name) != nil, "\(name) should be a method")
        }
    }

    @Test func refusesUnknownKeys() {
        #expect(failure("models: [{model: a}]\nmerge_methd: linear\n")?.kind == .unknownKey)
        #expect(failure("models: [{model: a, weight: 1}]\nmerge_method: linear\n")?.kind == .unknownKey)
    }

    @Test(arguments: [
        "models: [{model: a, parameters: {weight: [0.1, abc]}}]\nmerge_method: linear\n",
        "models: [{model: a, parameters: {weight: []}}]\nmerge_method: linear\n",
        "models: [{model: a, parameters: {weight: [0.1, {filter: x, value: 1}]}}]\nmerge_method: linear\n",
        "models: [{model: a, parameters: {weight: [{filter: x, value: [{filter: y, value: 1}]}]}}]\nmerge_method: "
            + "linear\n",
        "models: [{model: a, parameters: {weight: [{filter: x}]}}]\nmerge_method: linear\n",
    ])
    func refusesBadGradients(yaml: String) {
        let error = failure(yaml)
        #expect(error?.kind == .badGradient)
        #expect(error?.description.contains("weight") == true)
    }

    @Test func refusesMissingKeysAndBadValues() {
        #expect(failure("models: [{model: a}]\n")?.description.contains("missing key 'merge_method'") == true)
        #expect(failure("merge_method: linear\n")?.description.contains("missing key 'models'") == true)
        #expect(
            failure("models: [{model: a}]\nmerge_method: linear\ndtype: fp8\n")?.description.contains("'dtype'") == true
        )
        #expect(failure("models: [{model: a}]\nmerge_method: linear\ngate: {max_cosine: -1}\n")?.kind == .badValue)
        #expect(failure("- a\n- b\n")?.kind == .syntax)
        #expect(failure("models: [{model: a}]\nmerge_method: linear\nmodels: []\n")?.kind == .syntax)
    }

    @Test func missingBaseIsOneClearLine() throws {
        let family = try SyntheticFamily.make("missing-base")
        let config = try family.configuration("models: [{model: ./t1, parameters: {weight: 1}}]\nmerge_method: ties\n")
        let error = #expect(throws: MergeConfigError.self) { try Merge(configuration: config) }
        #expect(error?.description.contains("needs 'base_model'") == true)
        #expect(error?.description.contains("\n") == false)
    }

    @Test func missingModelDirectoryNamesBothPlaces() throws {
        let family = try SyntheticFamily.make("missing-model")
        let config = try family.configuration(
            "models: [{model: ./nope, parameters: {weight: 1}}]\nmerge_method: linear\n")
        let error = #expect(throws: MergeConfigError.self) { try Merge(configuration: config) }
        #expect(error?.kind == .badModel)
        #expect(error?.description.contains("nope") == true)
    }

    @Test func gateThresholdsParseForAMerge() throws {
        #expect(try GateThresholds.merge(parsing: "max-cosine=0.2") == GateThresholds(maxCosine: 0.2, scope: .global))
        #expect(
            try GateThresholds.merge(parsing: "max-cosine=0.1,scope=layer")
                == GateThresholds(maxCosine: 0.1, scope: .layer))
        #expect(throws: MergeConfigError.self) { try GateThresholds.merge(parsing: "cosine=0.1") }
        #expect(throws: MergeConfigError.self) { try GateThresholds.merge(parsing: "scope=layer") }
        #expect(
            try GateThresholds.merge(parsing: "max-cosine=0.1,max-chord-residual=0.2")
                == GateThresholds(maxCosine: 0.1, scope: .global, maxChordResidual: 0.2))
        let config = try MergeConfiguration(
            yaml: "models: [{model: a}]\nmerge_method: linear\ngate: {max_cosine: 0.3, scope: tensor}\n",
            directory: Self.directory)
        #expect(config.gate == GateThresholds(maxCosine: 0.3, scope: .tensor))
    }
}

@Suite("Parameter settings")
struct ParameterSettingTests {
    func value(
        _ setting: ParameterSetting, _ tensor: String = "model.layers.0.mlp.up_proj.weight", t: Double
    ) throws -> Double? {
        try setting.evaluate(tensorName: tensor, t: t, as: .float, parameter: "p")?.number
    }

    @Test func gradientsInterpolateAsMergeKit() throws {
        // MergeKit 0.1.5 evaluate_setting: s = t·(n−1), i0 = ⌊s⌋, i1 = min(n−1, i0+1), (1−f)·v[i0] + f·v[i1].
        let gradient = ParameterSetting.gradient([.number(0), .number(0.5), .number(1)])
        #expect(try value(gradient, t: 0) == 0)
        #expect(try value(gradient, t: 0.25) == 0.25)
        #expect(try value(gradient, t: 1) == 1)
        let two = ParameterSetting.gradient([.number(0.2), .number(0.8)])
        #expect(try value(two, t: 1.0 / 3.0) == (1 - 1.0 / 3.0) * 0.2 + (1.0 / 3.0) * 0.8)
        let booleans = ParameterSetting.gradient([.bool(false), .bool(true)])
        #expect(try booleans.evaluate(tensorName: "x", t: 0.99, as: .bool, parameter: "p") == .bool(false))
        #expect(try booleans.evaluate(tensorName: "x", t: 1, as: .bool, parameter: "p") == .bool(true))
    }

    @Test func conditionalsTakeTheFirstMatchingFilter() throws {
        let setting = ParameterSetting.conditional([
            .init(filter: "self_attn", value: .scalar(.number(0.1))),
            .init(filter: "mlp", value: .gradient([.number(1), .number(0)])),
        ])
        #expect(try value(setting, "model.layers.1.self_attn.q_proj.weight", t: 0.5) == 0.1)
        #expect(try value(setting, "model.layers.1.mlp.up_proj.weight", t: 0.25) == 0.75)
        #expect(try value(setting, "model.norm.weight", t: 0) == nil)
        let wildcard = ParameterSetting.conditional([.init(filter: "*", value: .scalar(.number(3)))])
        #expect(try value(wildcard, "anything", t: 0) == 3)
    }

    @Test func numericStringsAreNumbersAndOtherStringsAreRefused() throws {
        #expect(try value(.scalar(.string("1e-3")), t: 0) == 0.001)
        #expect(throws: MergeConfigError.self) { try value(.scalar(.string("abc")), t: 0) }
        #expect(throws: MergeConfigError.self) { try value(.scalar(.bool(true)), t: 0) }
    }

    @Test func planResolvesPerModelThenGlobalThenDefault() throws {
        let family = try SyntheticFamily.make("resolution", shape: .init(layers: 3))
        let config = try family.configuration(
            """
            models:
              - model: ./t1
                parameters:
                  weight: [{filter: mlp, value: 0.9}]
                  density: [0.2, 0.8]
              - model: ./t2
            base_model: ./base
            merge_method: ties
            parameters:
              weight: 0.25
              lambda: 2
            """)
        let plan = try MergePlan(configuration: config)
        func tensor(_ name: String) -> MergePlan.Tensor { plan.tensors.first { $0.name == name }! }
        let mlp = tensor("model.layers.1.mlp.up_proj.weight")
        let attention = tensor("model.layers.2.self_attn.q_proj.weight")
        let embedding = tensor("model.embed_tokens.weight")
        let norm = tensor("model.norm.weight")
        #expect(mlp.layerPosition == 0.5)
        #expect(attention.layerPosition == 1)
        // t1's conditional matches mlp tensors; elsewhere it falls through to the global weight.
        #expect(mlp.perInput[0]["weight"] == .number(0.9))
        #expect(attention.perInput[0]["weight"] == .number(0.25))
        #expect(mlp.perInput[1]["weight"] == .number(0.25))
        // The gradient over three layers: t = 0.5 → 0.5, t = 1 → 0.8; embeddings and the final norm take t = 0.
        #expect(mlp.perInput[0]["density"] == .number(0.5))
        #expect(attention.perInput[0]["density"] == .number(0.8))
        #expect(embedding.perInput[0]["density"] == .number(0.2))
        #expect(norm.perInput[0]["density"] == .number(0.2))
        #expect(mlp.perInput[1]["density"] == .number(1))  // the default
        #expect(mlp.shared["lambda"] == .number(2))
        #expect(mlp.shared["normalize"] == .bool(true))  // ties' default
        // The base takes no per-model parameters; it was appended as the last input.
        #expect(plan.inputs.last?.isBase == true)
        #expect(plan.inputs.last?.appended == true)
        #expect(mlp.perInput[2].isEmpty)
    }

    @Test func missingRequiredParameterNamesModelAndTensor() throws {
        let family = try SyntheticFamily.make("required")
        let config = try family.configuration(
            "models: [{model: ./t1}, {model: ./t2, parameters: {weight: 1}}]\nbase_model: ./base\nmerge_method: "
                + "task_arithmetic\n"
        )
        let error = #expect(throws: MergeConfigError.self) { try MergePlan(configuration: config) }
        #expect(error?.kind == .missingParameter)
        #expect(error?.description.contains("missing required parameter 'weight' for model './t1'") == true)
    }
}
