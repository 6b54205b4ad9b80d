import Checkpoints
import Foundation

/// MetaGPT's global λ of a family, λₜ = ‖τₜ‖² / Σₖ ‖τₖ‖² (docs/design.md), with the squared norms it came from:
/// the one resolver the probe, the sweep and the merge share.
///
/// "λ of this family" is read from an analysis report when one describes these models (``ReportMatch``), else
/// computed by the norms-only pass (``StatisticsPass/squaredNorms(_:progress:)``), never by the full statistics
/// pass: its sums are the full pass's Gram diagonal, so both give the same λ.
public struct FamilyLambdas: Sendable {
    /// Where the norms came from.
    public enum Source: Sendable, Equatable {
        /// The analysis report at this URL, which describes the family's weights.
        case report(URL)
        /// The norms-only pass over the family's weights.
        case normsPass
    }

    /// λₜ in the family's task order; they sum to 1 (all 0 when every τ is 0).
    public let lambdas: [Double]
    /// ‖τₜ‖² summed over the family's tensors, in the family's task order.
    public let squaredNorms: [Double]
    /// ‖τₜ‖² per tensor name, in the family's task order.
    public let perTensor: [String: [Double]]
    public let source: Source

    /// λ of `family`: from the analysis report at `report` when there is one that describes these weights
    /// (``ReportMatch/match(_:to:)``), else from the norms-only pass. No file at `report`, a file holding no analysis
    /// (`/tensors`: a probe alone), or a report of other weights all lead to the pass; none is an error.
    ///
    /// - Parameters:
    ///   - threads: workers of the norms-only pass.
    ///   - progress: called from worker threads with the number of input bytes the pass just read.
    /// - Throws: ``AnalysisError`` when the file at `report` is not a readable MetaMerge report or its analysis fails
    ///   the reader's checks (a report the user named is never silently ignored because it is damaged); a read error
    ///   of the pass.
    public static func resolve(
        _ family: ModelFamily, report: URL?, threads: Int = ProcessInfo.processInfo.activeProcessorCount,
        progress: (@Sendable (Int) -> Void)? = nil
    ) throws -> FamilyLambdas {
        if let report, let statistics = try AnalysisReport.readAnalysisIfPresent(report),
            case .matched(let order) = try ReportMatch.match(statistics, to: family)
        {
            return FamilyLambdas(statistics: statistics, taskOrder: order, source: .report(report))
        }
        return try normsPass(family, threads: threads, progress: progress)
    }

    /// λ of `family` from the norms-only pass (``StatisticsPass/squaredNorms(_:progress:)``).
    public static func normsPass(
        _ family: ModelFamily, threads: Int = ProcessInfo.processInfo.activeProcessorCount,
        progress: (@Sendable (Int) -> Void)? = nil
    ) throws -> FamilyLambdas {
        let norms = try StatisticsPass(threads: threads).squaredNorms(family, progress: progress)
        var perTensor: [String: [Double]] = [:]
        for (tensor, values) in zip(family.tensors, norms.perTensor) { perTensor[tensor.name] = values }
        return FamilyLambdas(
            lambdas: GramMatrix.metagptLambdas(squaredNorms: norms.total), squaredNorms: norms.total,
            perTensor: perTensor, source: .normsPass)
    }

    /// λ from a report's `statistics` whose task `taskOrder[k]` is the family's task k: the report's λ (its global
    /// Gram diagonal normalised in its own task order), then put in the family's order.
    init(statistics: TaskVectorStatistics, taskOrder: [Int], source: Source) {
        let lambdas = statistics.metagptLambdas
        let diagonal = statistics.global.moments.gram.squaredNorms
        var perTensor: [String: [Double]] = [:]
        for tensor in statistics.tensors {
            let gram = tensor.moments.gram
            perTensor[tensor.name] = taskOrder.map { gram[$0, $0] }
        }
        self.init(
            lambdas: taskOrder.map { lambdas[$0] }, squaredNorms: taskOrder.map { diagonal[$0] },
            perTensor: perTensor, source: source)
    }

    init(lambdas: [Double], squaredNorms: [Double], perTensor: [String: [Double]], source: Source) {
        self.lambdas = lambdas
        self.squaredNorms = squaredNorms
        self.perTensor = perTensor
        self.source = source
    }
}
