import Foundation
import Statistics
import TestSupport
import Testing
import Yams

@testable import Merging

/// A `MergeConfigError` that wraps another error — a read or YAML error, a gate's `AnalysisError`, or a
/// `MergeConfigError` re-raised with the tensor, model or key it concerns — keeps it as `cause`.
@Suite("MergeConfigError keeps the error it wraps")
struct MergeConfigErrorCauseTests {
    static let directory = URL(fileURLWithPath: "/tmp")
    static let linear = "models: [{model: a}, {model: b}]\nmerge_method: linear\n"

    @Test func unreadableConfigKeepsTheReadError() throws {
        let missing = try makeTemporaryDirectory("cause").appendingPathComponent("merge.yml")
        let error = try #require(throws: MergeConfigError.self) { try MergeConfiguration.load(contentsOf: missing) }
        #expect(error.kind == .syntax)
        #expect(error.file == missing.path)
        let cause = try #require(error.cause as? CocoaError)
        #expect(cause.code == .fileReadNoSuchFile)
    }

    @Test func textThatIsNotYAMLKeepsTheYAMLError() throws {
        let error = try #require(throws: MergeConfigError.self) {
            try MergeConfiguration(yaml: "models: [{model: a}\nmerge_method: linear\n", directory: Self.directory)
        }
        #expect(error.kind == .syntax)
        #expect(error.message.hasPrefix("not valid YAML: "))
        #expect(error.cause is YamlError)
    }

    /// The config's `gate:` block and `--gate` are read by `GateThresholds`; its `AnalysisError` is the cause.
    @Test func badGateKeepsTheAnalysisError() throws {
        var thresholds = GateThresholds()
        let expected = try #require(throws: AnalysisError.self) { try thresholds.set("max-cos", "0.1") }
        let block = try #require(throws: MergeConfigError.self) {
            try MergeConfiguration(yaml: Self.linear + "gate: {max_cos: 0.1}\n", directory: Self.directory)
        }
        #expect(block.kind == .badValue)
        #expect(block.cause as? AnalysisError == expected)
        let option = try #require(throws: MergeConfigError.self) { try GateThresholds.merge(parsing: "max-cos=0.1") }
        #expect(option.kind == .badValue)
        #expect(option.cause as? AnalysisError == expected)
    }

    /// A value that is not of the parameter's type is refused with where it was found; the refusal of the value
    /// itself (which knows only the parameter) is the cause.
    @Test func parameterOfTheWrongTypeKeepsTheValueError() throws {
        let error = try #require(throws: MergeConfigError.self) {
            try MergeConfiguration(yaml: Self.linear + "parameters: {weight: abc}\n", directory: Self.directory)
        }
        let cause = try #require(error.cause as? MergeConfigError)
        #expect(cause.kind == .badValue)
        #expect(cause.file == nil)
        #expect(cause.message == "parameter 'weight': abc is not a number")
        #expect(error.message == "parameters.weight: abc is not a number")
    }

    /// A value the parser did not see (set here past it) fails when the plan evaluates it for a tensor: the
    /// planner names the model and tensor, and keeps the evaluation's own error as the cause.
    @Test func plannerKeepsTheEvaluationErrorWhenItNamesTheTensor() throws {
        let family = try SyntheticFamily.make("cause")
        let parsed = try family.configuration("models: [{model: ./t1}, {model: ./t2}]\nmerge_method: linear\n")
        let config = MergeConfiguration(
            file: parsed.file, directory: parsed.directory, text: parsed.text, method: parsed.method,
            models: [
                .init(reference: "./t1", parameters: ["weight": .scalar(.string("abc"))]),
                .init(reference: "./t2", parameters: ["weight": .scalar(.number(1))]),
            ],
            baseModel: nil, parameters: [:], dtype: nil, outDtype: nil, tokenizerSource: nil, gate: nil)
        let error = try #require(throws: MergeConfigError.self) { try MergePlan(configuration: config) }
        let cause = try #require(error.cause as? MergeConfigError)
        #expect(cause.file == nil)
        #expect(error.kind == cause.kind)
        #expect(error.file == parsed.file?.path)
        #expect(error.message.hasPrefix("model './t1', tensor '"))
        #expect(error.message.hasSuffix(": \(cause.message)"))
    }

    @Test func missingTokenizerForAlignmentKeepsTheReadError() throws {
        let directory = try makeTemporaryDirectory("cause")
        let error = try #require(throws: MergeConfigError.self) {
            try TokenVocabulary(directory: directory, reference: "./t1")
        }
        #expect(error.kind == .badModel)
        let cause = try #require(error.cause as? CocoaError)
        #expect(cause.code == .fileReadNoSuchFile)
    }

    @Test func equalityComparesKindFileAndMessageButNotCause() {
        let file = URL(fileURLWithPath: "/m/merge.yml")
        let wrapped = MergeConfigError(.syntax, file: file, "not valid YAML", cause: CocoaError(.fileReadCorruptFile))
        #expect(wrapped == MergeConfigError(.syntax, file: file, "not valid YAML"))
        #expect(wrapped != MergeConfigError(.syntax, "not valid YAML"))
        #expect(wrapped != MergeConfigError(.badValue, file: file, "not valid YAML"))
        #expect(wrapped != MergeConfigError(.syntax, file: file, "not YAML"))
    }
}
