import Checkpoints
import Foundation
import SafeTensors
import Statistics

/// A merge from a config, before its coefficients and gate are known: the plan and the options.
///
/// A merge is written in two steps whose order the types enforce: ``prepare(progress:)`` computes or reads the
/// statistics (for MetaGPT's λ and the gate), λ and the gate's verdict, and returns a ``PreparedMerge``; only that
/// can ``PreparedMerge/write(to:overwrite:progress:)``.
///
/// ```swift
/// let merge = try Merge(configuration: .load(contentsOf: configURL), options: options)
/// let prepared = try merge.prepare(progress: reporter)   // reads the weights once when λ or the gate need them
/// if let gate = prepared.plan.gate, !gate.passed, !options.force { /* refuse: exit 1 */ }
/// try prepared.write(to: outputURL, progress: reporter)
/// ```
public struct Merge: Sendable {
    public let plan: MergePlan
    public let options: MergeOptions

    public init(configuration: MergeConfiguration, options: MergeOptions = MergeOptions()) throws {
        self.options = options
        self.plan = try MergePlan(configuration: configuration, options: options)
        if let gate = gateSpec, plan.baseIndex == nil || plan.taskIndices.isEmpty {
            throw MergeConfigError(
                .missingKey, file: configuration.file,
                "the gate (\(gate.summary)) compares task vectors θₜ − θ₀ and needs a base_model and at least one "
                + "other model"
            )
        }
    }

    /// The gate to run: `--gate`, else the config's `gate:` block.
    public var gateSpec: GateThresholds? { options.gate ?? plan.configuration.gate }

    var granularity: String { plan.sharedParameters.string("granularity") }
    /// `norm_source`; plain `metagpt`, which has no such parameter, takes the norms of the original τ.
    var normSource: String { plan.sharedParameters.value("norm_source")?.string ?? "original" }

    /// Whether the one-pass statistics are needed: MetaGPT's λ from the original task vectors, or the gate.
    public var needsStatistics: Bool {
        gateSpec != nil || (plan.method.definition.usesMetaGPTLambdas && normSource == "original")
    }

    /// Whether only ‖τₜ‖² are needed (MetaGPT's λ from the original task vectors, no gate, no report given): then
    /// ``StatisticsPass/squaredNorms(_:progress:)`` computes them, the same sums as the statistics pass's Gram diagonal
    /// at a fraction of
    /// its work, and ``PreparedMerge/statistics`` is nil.
    var needsOnlySquaredNorms: Bool {
        gateSpec == nil && options.statisticsReport == nil && plan.method.definition.usesMetaGPTLambdas
            && normSource == "original"
    }

    /// Every file and directory the merge reads: an output may be none of them, contain none, nor lie inside one.
    public var inputPaths: [URL] { plan.inputPaths(options) }

    /// Computes or reads the statistics when needed, MetaGPT's λ, and the gate's verdict (recorded in
    /// ``MergePlan/gate``; a failure with ``MergeOptions/force`` is marked forced).
    ///
    /// - Throws: ``MergeConfigError`` for a statistics report that does not describe these models, or any read
    ///   error of the statistics pass.
    public func prepare(progress: (any MergeProgressReporting)? = nil) throws -> PreparedMerge {
        var preparation = Preparation(plan: plan, options: options)
        if needsOnlySquaredNorms {
            preparation.squaredNorms = try preparation.computeSquaredNorms(progress: progress)
        } else if needsStatistics {
            preparation.statistics = try preparation.loadStatistics(progress: progress)
        }
        if plan.method.definition.usesMetaGPTLambdas {
            try preparation.computeLambdas(granularity: granularity, normSource: normSource, progress: progress)
        }
        if let spec = gateSpec, let statistics = preparation.statistics {
            var outcome = try MergeGate.evaluate(spec, statistics: statistics, probe: options.probeReport)
            if !outcome.passed && options.force { outcome.forced = true }
            preparation.plan.gate = outcome
        }
        return PreparedMerge(plan: preparation.plan, options: options, statistics: preparation.statistics)
    }
}

extension MergePlan {
    /// The inputs' directories and weight files, the config file and the reports the options name.
    func inputPaths(_ options: MergeOptions) -> [URL] {
        inputs.flatMap {
            [$0.checkpoint.directory] + $0.checkpoint.files.map(\.url)
                + ($0.adapter.map { [$0.directory, $0.file.url] } ?? [])
        }
            + [configuration.file, options.statisticsReport, options.probeReport].compactMap { $0 }
    }
}

/// The work of ``Merge/prepare(progress:)``: the plan it completes and what it learns on the way.
private struct Preparation {
    var plan: MergePlan
    let options: MergeOptions
    var statistics: TaskVectorStatistics?
    /// ‖τₜ‖² per tensor name and in total, when only they were computed (``StatisticsPass/squaredNorms(_:progress:)``).
    var squaredNorms: (perTensor: [String: [Double]], total: [Double])?
    /// Maps this merge's task k to the statistics' task index (identity when computed here).
    var taskOrder: [Int] = []

    init(plan: MergePlan, options: MergeOptions) {
        self.plan = plan
        self.options = options
    }

    // MARK: Statistics

    private func family() throws -> ModelFamily {
        guard plan.baseIndex != nil else {
            throw MergeConfigError(
                .missingKey, file: plan.configuration.file, "task-vector statistics need a base_model")
        }
        return try plan.family(
            purpose: "task-vector statistics (merge_method metagpt, --stats, --gate, a statistics report)",
            name: \.reference)
    }

    mutating func loadStatistics(progress: (any MergeProgressReporting)?) throws -> TaskVectorStatistics {
        let family = try family()
        if let url = options.statisticsReport {
            let report = try AnalysisReport.read(from: url)
            taskOrder = try matchReport(report, family: family, url: url)
            plan.notes.append("statistics read from \(url.path)")
            return report
        }
        let total = family.tensors.reduce(0) { $0 + $1.elementCount * $1.dtypes.reduce(0) { $0 + $1.byteSize } }
        progress?.begin("statistics", total: Double(total))
        let statistics = try StatisticsPass(threads: options.threads).run(
            family, commandLine: CommandLine.arguments.joined(separator: " "),
            progress: progress.map { reporter in { @Sendable bytes in reporter.advance(Double(bytes)) } })
        progress?.end()
        taskOrder = Array(plan.taskIndices.indices)
        return statistics
    }

    func computeSquaredNorms(progress: (any MergeProgressReporting)?) throws -> (
        perTensor: [String: [Double]], total: [Double]
    ) {
        let family = try family()
        let total = family.tensors.reduce(0) { $0 + $1.elementCount * $1.dtypes.reduce(0) { $0 + $1.byteSize } }
        progress?.begin("task-vector norms", total: Double(total))
        let norms = try FamilyLambdas.resolve(
            family, report: nil, threads: options.threads,
            progress: progress.map { reporter in { @Sendable bytes in reporter.advance(Double(bytes)) } })
        progress?.end()
        return (norms.perTensor, norms.squaredNorms)
    }

    /// Checks that a report describes these models (``ReportMatch``, by weight fingerprints) and maps our tasks to
    /// its tasks.
    func matchReport(_ report: TaskVectorStatistics, family: ModelFamily, url: URL) throws -> [Int] {
        let order: [Int]
        switch try ReportMatch.match(report, to: family) {
        case .matched(let taskOrder):
            order = taskOrder
        case .noBase:
            throw MergeConfigError(.badValue, file: url, "the report names no base model; re-run `metamerge analyze`")
        case .otherBase(let recorded, let actual):
            let base = plan.baseIndex.map { plan.inputs[$0].reference } ?? "the base model"
            throw MergeConfigError(
                .badValue, file: url,
                "was computed for another base model (fingerprint \(recorded), "
                + "\(base) has \(actual)); re-run `metamerge analyze` on these models"
            )
        case .missingTask(let name, let fingerprint):
            throw MergeConfigError(
                .badValue, file: url,
                "has no statistics for model '\(name)' (fingerprint \(fingerprint)); "
                + "re-run `metamerge analyze` on these models"
            )
        case .taskCount(let reported, let merged):
            throw MergeConfigError(
                .badValue, file: url,
                "covers \(reported) task models, the config merges \(merged); re-run `metamerge analyze` "
                + "with the same models"
            )
        }
        // λ (global: summed over the report's tensors; per tensor: looked up by name) needs every merged tensor.
        let reported = Set(report.tensors.map(\.name))
        if let missing = plan.tensors.first(where: { !$0.isCopied && !reported.contains($0.name) }) {
            throw MergeConfigError(
                .badValue, file: url,
                "has no statistics for tensor '\(missing.name)', which the merge combines (the report lists "
                + "\(reported.count) tensors); re-run `metamerge analyze` on these models"
            )
        }
        return order
    }

    // MARK: MetaGPT

    mutating func computeLambdas(
        granularity: String, normSource: String, progress: (any MergeProgressReporting)?
    ) throws {
        let perTensor = granularity == "per_tensor"
        var tensorNorms: [String: [Double]] = [:]
        if normSource == "original", let squaredNorms {
            tensorNorms = squaredNorms.perTensor
            plan.lambdaSource = "norms of the original task vectors, from a pass computing ‖τₜ‖²"
        } else if normSource == "original" {
            guard let statistics else { return }
            for tensor in statistics.tensors {
                let gram = tensor.moments.gram
                tensorNorms[tensor.name] = taskOrder.map { gram[$0, $0] }
            }
            plan.lambdaSource =
                options.statisticsReport == nil
                ? "norms of the original task vectors, from the statistics pass"
                : "norms of the original task vectors, from \(options.statisticsReport!.lastPathComponent)"
        } else {
            tensorNorms = try sparsifiedNorms(progress: progress)
            plan.lambdaSource = "norms of the sparsified task vectors (norm_source: sparsified)"
        }
        let tasks = plan.taskIndices.count
        if perTensor {
            for index in plan.tensors.indices where !plan.tensors[index].isCopied {
                let norms = tensorNorms[plan.tensors[index].name] ?? [Double](repeating: 0, count: tasks)
                plan.tensors[index].lambdas = GramMatrix.metagptLambdas(squaredNorms: norms)
            }
            plan.globalLambdas = nil
        } else {
            var total = [Double](repeating: 0, count: tasks)
            // Summed in the statistics' tensor order (model order), as the global Gram matrix is.
            for tensor in plan.tensors where !tensor.isCopied {
                guard let norms = tensorNorms[tensor.name] else { continue }
                for k in 0..<tasks { total[k] += norms[k] }
            }
            if normSource == "original", let statistics, taskOrder == Array(0..<tasks) {
                total = statistics.global.moments.gram.squaredNorms
            }
            if normSource == "original", let squaredNorms {
                total = squaredNorms.total  // the global Gram diagonal's sums, in the same order
            }
            let lambdas = GramMatrix.metagptLambdas(squaredNorms: total)
            plan.globalLambdas = lambdas
            plan.lambdaNorms = total
            for index in plan.tensors.indices where !plan.tensors[index].isCopied {
                plan.tensors[index].lambdas = lambdas
            }
        }
    }

    /// ‖sparsify(τₜ)‖² per tensor: the sparsification (and rescale) of the merge itself, with the same seed.
    func sparsifiedNorms(progress: (any MergeProgressReporting)?) throws -> [String: [Double]] {
        let executor = try MergeExecutor(plan: plan, options: options)
        let tensors = plan.tensors.filter { !$0.isCopied }
        progress?.begin("sparsified norms", total: Double(tensors.reduce(0) { $0 + $1.elementCount }))
        var result: [String: [Double]] = [:]
        for tensor in tensors {
            let (kernel, sources) = try executor.kernel(for: tensor, mode: .squaredNorms)
            _ = try executor.reduce(kernel, sources: sources, count: tensor.elementCount)
            guard let measuring = kernel as? any SquaredNormsMeasuring else {
                throw MergeConfigError(
                    .badValue, file: plan.configuration.file,
                    "norm_source: sparsified needs a method that sparsifies (metagpt_ties or metagpt_dare)")
            }
            result[tensor.name] = measuring.squaredNorms
            progress?.advance(Double(tensor.elementCount))
        }
        progress?.end()
        return result
    }

}
