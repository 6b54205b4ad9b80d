import Foundation
import Merging
import TestSupport
import Testing

/// Every numeric merge knob is checked when the configuration is parsed (or, for what depends on the models —
/// weights summing to 0 — when the merge is planned), before any output exists: a `MergeConfigError` naming the
/// key, where it came from (the model or the global `parameters:`, and the filter) and the allowed range.
@Suite("Merge parameter validation")
struct ParameterValidationTests {
    static let directory = URL(fileURLWithPath: "/tmp")

    /// The error parsing `yaml` gives (nil when it parses).
    func parseError(_ yaml: String) -> MergeConfigError? {
        do {
            _ = try MergeConfiguration(yaml: yaml, directory: Self.directory)
            return nil
        } catch let error as MergeConfigError {
            #expect(!error.description.contains("\n"), "one line: \(error)")
            return error
        } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
    }

    /// (case, config, words the message must contain). Each of these crashed (SIGILL) or produced a NaN/Inf model
    /// with exit 0 before validation.
    static let refused: [(String, String, [String])] = [
        (
            "ties density NaN",
            "models: [{model: a, parameters: {weight: 1, density: .nan}}]\nbase_model: b\nmerge_method: ties\n",
            ["models[0] ('a') parameters.density", "NaN", "[0, 1]"]
        ),
        (
            "breadcrumbs density NaN",
            "models: [{model: a, parameters: {weight: 1}}]\nbase_model: b\nmerge_method: breadcrumbs\nparameters: "
                + "{density: .nan}\n",
            ["parameters.density", "NaN", "[0, 1]"]
        ),
        (
            "metagpt_ties density NaN",
            "models: [{model: a}]\nbase_model: b\nmerge_method: metagpt_ties\nparameters: {density: .nan}\n",
            ["parameters.density", "NaN"]
        ),
        (
            "sce select_topk NaN",
            "models: [{model: a}]\nbase_model: b\nmerge_method: sce\nparameters: {select_topk: .nan}\n",
            ["parameters.select_topk", "NaN", "(0, 1]"]
        ),
        (
            "linear weight NaN", "models: [{model: a, parameters: {weight: .nan}}]\nmerge_method: linear\n",
            ["models[0] ('a') parameters.weight", "NaN", "finite"]
        ),
        (
            "task_arithmetic lambda NaN",
            "models: [{model: a, parameters: {weight: 1}}]\nbase_model: b\nmerge_method: task_arithmetic\nparameters: "
                + "{lambda: .nan}\n",
            ["parameters.lambda", "NaN"]
        ),
        (
            "lambda infinite",
            "models: [{model: a, parameters: {weight: 1}}]\nbase_model: b\nmerge_method: ties\nparameters: {lambda: "
                + ".inf}\n",
            ["parameters.lambda", "+inf"]
        ),
        (
            "density above 1",
            "models: [{model: a, parameters: {weight: 1, density: 1.5}}]\nbase_model: b\nmerge_method: dare_ties\n",
            ["density", "1.5", "[0, 1]"]
        ),
        (
            "negative density in a gradient",
            "models: [{model: a, parameters: {weight: 1, density: [0.5, -0.1]}}]\nbase_model: b\nmerge_method: ties\n",
            ["parameters.density[1]", "-0.1"]
        ),
        (
            "NaN weight in a gradient",
            "models: [{model: a, parameters: {weight: [1, .nan]}}]\nbase_model: b\nmerge_method: task_arithmetic\n",
            ["parameters.weight[1]", "NaN"]
        ),
        (
            "infinite weight under a filter",
            "models: [{model: a, parameters: {weight: [{filter: mlp, value: .inf}, {value: 1}]}}]\nbase_model: "
                + "b\nmerge_method: task_arithmetic\n",
            ["parameters.weight (filter: mlp)", "+inf"]
        ),
        (
            "gamma NaN",
            "models: [{model: a, parameters: {weight: 1, gamma: .nan}}]\nbase_model: b\nmerge_method: "
                + "breadcrumbs_ties\n",
            ["gamma", "NaN"]
        ),
        (
            "della epsilon NaN",
            "models: [{model: a, parameters: {weight: 1, epsilon: .nan}}]\nbase_model: b\nmerge_method: della\n",
            ["epsilon", "NaN"]
        ),
        (
            "negative slerp t",
            "models: [{model: a}, {model: b}]\nbase_model: b\nmerge_method: slerp\nparameters: {t: -0.2}\n",
            ["parameters.t", "-0.2", "[0, 1]"]
        ),
        (
            "negative nearswap t",
            "models: [{model: a}]\nbase_model: b\nmerge_method: nearswap\nparameters: {t: -0.001}\n",
            ["parameters.t", "-0.001", "≥ 0"]
        ),
        (
            "karcher max_iter fractional",
            "models: [{model: a}, {model: b}]\nmerge_method: karcher\nparameters: {max_iter: 2.5}\n",
            ["parameters.max_iter", "2.5", "whole number"]
        ),
        (
            "karcher tol NaN", "models: [{model: a}, {model: b}]\nmerge_method: karcher\nparameters: {tol: .nan}\n",
            ["parameters.tol", "NaN"]
        ),
        (
            "ramplus r negative",
            "models: [{model: a}]\nbase_model: b\nmerge_method: ramplus_tl\nparameters: {r: -1}\n",
            ["parameters.r", "-1", "≥ 0"]
        ),
        (
            "ramplus alpha NaN",
            "models: [{model: a}]\nbase_model: b\nmerge_method: ramplus_tl\nparameters: {alpha: .nan}\n",
            ["parameters.alpha", "NaN"]
        ),
        (
            "ram epsilon infinite",
            "models: [{model: a}]\nbase_model: b\nmerge_method: ram\nparameters: {epsilon: .inf}\n",
            ["parameters.epsilon", "+inf"]
        ),
        (
            "multislerp eps negative",
            "models: [{model: a, parameters: {weight: 1}}, {model: c, parameters: {weight: 1}}]\nmerge_method: "
                + "multislerp\nparameters: {eps: -1}\n",
            ["parameters.eps", "-1"]
        ),
        (
            "nuslerp weight NaN",
            "models: [{model: a, parameters: {weight: .nan}}, {model: c, parameters: {weight: 1}}]\nmerge_method: "
                + "nuslerp\n",
            ["models[0] ('a') parameters.weight", "NaN"]
        ),
        (
            "passthrough scale NaN", "models: [{model: a, parameters: {scale: .nan}}]\nmerge_method: passthrough\n",
            ["parameters.scale", "NaN"]
        ),
        (
            "a parameter another method uses is still checked",
            "models: [{model: a, parameters: {weight: 1, density: .nan}}]\nmerge_method: linear\n",
            ["density", "NaN"]
        ),
        (
            "a numeric string that is not finite",
            "models: [{model: a, parameters: {weight: \"nan\"}}]\nmerge_method: linear\n",
            ["weight", "NaN"]
        ),
    ]

    @Test(arguments: refused.indices)
    func refusesWhenParsed(_ index: Int) {
        let (label, yaml, words) = Self.refused[index]
        let error = parseError(yaml)
        #expect(error?.kind == .badValue, "\(label): \(String(describing: error))")
        for word in words {
            #expect(
                error?.description.contains(word) == true,
                "\(label): '\(String(describing: error))' should contain '\(word)'")
        }
    }

    @Test func inRangeValuesParse() {
        #expect(
            parseError(
                "models: [{model: a, parameters: {weight: -0.5, density: [0, 1]}}]\nbase_model: b\nmerge_method: "
                    + "ties\nparameters: {lambda: -2}\n"
            ) == nil)
        #expect(parseError("models: [{model: a}]\nbase_model: b\nmerge_method: nearswap\nparameters: {t: 0}\n") == nil)
        #expect(
            parseError("models: [{model: a}, {model: b}]\nmerge_method: karcher\nparameters: {max_iter: 0, tol: 0}\n")
                == nil)
    }

    @Test func weightsSummingToZeroWithNormalizeAreRefusedWhenPlanned() throws {
        let family = try SyntheticFamily.make("zero-sum")
        let config = try family.configuration(
            "models:\n  - model: ./t1\n    parameters: {weight: 0.5}\n  - model: ./t2\n    parameters: {weight: "
                + "-0.5}\nmerge_method: linear\n"
        )
        let error = #expect(throws: MergeConfigError.self) { try Merge(configuration: config) }
        #expect(error?.kind == .badValue)
        #expect(error?.description.contains("the weights sum to 0") == true)
        #expect(error?.description.contains("normalize: true") == true)
        #expect(error?.description.contains("./t1 0.5, ./t2 -0.5") == true)
        // Without normalization the same weights are a difference of models, and merge.
        let plain = try family.configuration(
            "models:\n  - model: ./t1\n    parameters: {weight: 0.5}\n  - model: ./t2\n    parameters: {weight: "
                + "-0.5}\nmerge_method: linear\nparameters: {normalize: false}\n",
            named: "plain.yml")
        _ = try Merge(configuration: plain)
    }

    @Test func zeroSumUnderAFilterIsRefusedNamingTheTensor() throws {
        let family = try SyntheticFamily.make("zero-sum-filter")
        let config = try family.configuration(
            "models:\n  - model: ./t1\n    parameters: {weight: [{filter: mlp, value: 1}, {value: 0.5}]}\n  - model: "
                + "./t2\n    parameters: {weight: [{filter: mlp, value: -1}, {value: 0.5}]}\nbase_model: "
                + "./base\nmerge_method: multislerp\n"
        )
        let error = #expect(throws: MergeConfigError.self) { try Merge(configuration: config) }
        #expect(error?.description.contains("mlp") == true)
        #expect(error?.description.contains("normalize_weights") == true)
    }

    @Test func methodContractsAreCheckedNamingTheKey() throws {
        let family = try SyntheticFamily.make("contracts", tasks: 3)
        func error(_ yaml: String, _ name: String) throws -> MergeConfigError? {
            let config = try family.configuration(yaml, named: name)
            return #expect(throws: MergeConfigError.self) { try Merge(configuration: config) }
        }
        let three = try error(
            "models:\n  - {model: ./t1, parameters: {weight: 1}}\n  - {model: ./t2, parameters: {weight: 1}}\n  - "
                + "{model: ./t3, parameters: {weight: 1}}\nmerge_method: nuslerp\n",
            "three.yml")
        #expect(three?.description.contains("nuslerp interpolates exactly two models") == true)
        let baseListed = try error(
            "models:\n  - {model: ./base, parameters: {weight: 1}}\n  - {model: ./t2, parameters: {weight: "
                + "1}}\nbase_model: ./base\nmerge_method: nuslerp\n",
            "listed.yml")
        #expect(baseListed?.description.contains("exactly two models") == true)
        let nearswap = try error(
            "models:\n  - model: ./t1\n  - model: ./t2\nmerge_method: nearswap\nparameters: {t: 0.1}\n", "nearswap.yml")
        #expect(nearswap?.kind == .missingKey)
        #expect(nearswap?.description.contains("'base_model'") == true)
        let fusion = try error("models:\n  - model: ./t1\n  - model: ./t2\nmerge_method: arcee_fusion\n", "fusion.yml")
        #expect(fusion?.kind == .missingKey)
        #expect(fusion?.description.contains("'base_model'") == true)
        let fusionThree = try error(
            "models:\n  - model: ./t1\n  - model: ./t2\nbase_model: ./base\nmerge_method: arcee_fusion\n", "fusion3.yml"
        )
        #expect(fusionThree?.description.contains("exactly 2 input models") == true)
    }
}

@Suite("Tokenizer configuration")
struct TokenizerConfigurationTests {
    func error(_ yaml: String) -> MergeConfigError? {
        do {
            _ = try MergeConfiguration(yaml: yaml, directory: URL(fileURLWithPath: "/tmp"))
            return nil
        } catch let error as MergeConfigError {
            return error
        } catch {
            return nil
        }
    }

    @Test func aTokensEntryNamingAModelNotInTheConfigIsRefused() {
        let failure = error(
            "models: [{model: a, parameters: {weight: 1}}]\nbase_model: b\nmerge_method: task_arithmetic\ntokenizer:\n "
                + " tokens:\n    \"<x>\": {source: c}\n"
        )
        #expect(
            failure?.description.contains("tokenizer.tokens.<x>.source names model 'c'") == true,
            "\(String(describing: failure))")
        let modelToken = error(
            "models: [{model: a, parameters: {weight: 1}}]\nmerge_method: linear\ntokenizer:\n  tokens:\n    \"<x>\": "
                + "{source: {kind: model_token, model: z, token: q}}\n"
        )
        #expect(modelToken?.description.contains("names model 'z'") == true)
    }

    @Test func tokenizerSourceAndTokenizerTogetherAreRefused() {
        let failure = error(
            "models: [{model: a}]\nmerge_method: passthrough\ntokenizer_source: base\ntokenizer: {source: union}\n")
        #expect(failure?.description.contains("either 'tokenizer_source' or 'tokenizer'") == true)
    }

    @Test func malformedEntriesNameTheKey() {
        #expect(
            error("models: [{model: a}]\nmerge_method: passthrough\ntokenizer: {pad_to_multiple_of: 0}\n")?.description
                .contains("pad_to_multiple_of") == true)
        #expect(
            error(
                "models: [{model: a}]\nmerge_method: passthrough\ntokenizer: {tokens: {x: {source: {kind: model_token, "
                    + "model: a}}}}\n"
            )?.description.contains("exactly one of 'token' and 'token_id'") == true)
        #expect(
            error("models: [{model: a}]\nmerge_method: passthrough\ntokenizer: {sauce: union}\n")?.kind == .unknownKey)
    }

    @Test func parsesMergeKitsTokenizerBlock() throws {
        let config = try MergeConfiguration(
            yaml:
                "models: [{model: a}, {model: b}]\nmerge_method: linear\ntokenizer:\n  source: b\n  "
                + "pad_to_multiple_of: 8\n  tokens:\n    \"<t>\": {source: a, force: true}\n    \"<z>\": {source: "
                + "{kind: zero}}\n",
            directory: URL(fileURLWithPath: "/tmp"))
        #expect(config.tokenizer?.source == .model("b"))
        #expect(config.tokenizer?.padToMultipleOf == 8)
        #expect(config.tokenizer?.tokens.map(\.content) == ["<t>", "<z>"])
        #expect(config.tokenizer?.tokens[0].force == true)
        #expect(config.tokenizer?.tokens[1].source == .zero)
    }
}
