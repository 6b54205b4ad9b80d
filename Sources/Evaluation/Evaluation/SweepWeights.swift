import Foundation
import Statistics

/// A sweep's `--weights`, parsed: comma-separated `uniform`, `metagpt` or a vector `w1:w2:…`, each field typed when
/// the text is read; the checks that need the family (the vector's length against the task count, MetaGPT's λ)
/// and the others (an unknown field, a non-finite weight, a repeated or missing weighting) are made, in the order
/// of the fields, by ``weightings(taskCount:metagpt:)``.
public struct SweepWeights: Sendable, Equatable, ExpressibleByStringLiteral {
    /// One comma-separated field.
    public enum Field: Sendable, Equatable {
        case uniform
        case metagpt
        /// `w1:w2:…` as written (the weighting's name) with its numbers.
        case vector(String, [Double])
        /// A field that is neither a name nor a vector of numbers, as written.
        case unknown(String)
    }

    /// The argument as given.
    public let text: String
    public let fields: [Field]

    public init(parsing text: String) {
        self.text = text
        fields = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.map { field in
            switch field {
            case "uniform": return .uniform
            case "metagpt": return .metagpt
            default:
                let parts = field.split(separator: ":", omittingEmptySubsequences: false).map { Double($0) }
                guard parts.allSatisfy({ $0 != nil }) else { return .unknown(field) }
                return .vector(field, parts.map { $0! })
            }
        }
    }

    public init(stringLiteral value: String) { self.init(parsing: value) }

    /// Whether a field asks for MetaGPT's λ (the caller then resolves them, ``FamilyLambdas``).
    public var needsMetaGPT: Bool { fields.contains(.metagpt) }

    /// The weightings for `taskCount` task models: `uniform` w = (1, …, 1)/T, `metagpt` w = `metagpt` (MetaGPT's
    /// λ), a vector as written (not normalised).
    ///
    /// - Throws: ``AnalysisError/badArgument(_:cause:)`` for an unknown field, a vector of the wrong length or with a
    ///   non-finite entry, `metagpt` without λ for these models, a repeated weighting, or none.
    public func weightings(taskCount: Int, metagpt: [Double]?) throws -> [SweepGrid.Weighting] {
        var result: [SweepGrid.Weighting] = []
        for field in fields {
            let weighting: SweepGrid.Weighting
            switch field {
            case .uniform:
                weighting = .init(name: "uniform", weights: Array(repeating: 1 / Double(taskCount), count: taskCount))
            case .metagpt:
                guard let metagpt, metagpt.count == taskCount else {
                    throw AnalysisError.badArgument("--weights metagpt: MetaGPT's λ are not available for these models")
                }
                weighting = .init(name: "metagpt", weights: metagpt)
            case .unknown(let text):
                throw AnalysisError.badArgument(
                    "--weights '\(text)': expected uniform, metagpt or a vector w1:w2:… of \(taskCount) numbers")
            case .vector(let text, let values):
                guard values.count == taskCount else {
                    throw AnalysisError.badArgument(
                        "--weights '\(text)' has \(values.count) weights for \(taskCount) task models; expected one "
                            + "per task model"
                    )
                }
                guard values.allSatisfy(\.isFinite) else {
                    throw AnalysisError.badArgument("--weights '\(text)': expected finite numbers")
                }
                weighting = .init(name: text, weights: values)
            }
            guard !result.contains(where: { $0.name == weighting.name }) else {
                throw AnalysisError.badArgument("--weights: '\(weighting.name)' is given twice")
            }
            result.append(weighting)
        }
        guard !result.isEmpty else { throw AnalysisError.badArgument("--weights: no weighting given") }
        return result
    }
}
