import Analysis
import Checkpoints
import Foundation
import SafeTensors

/// A merge from a config: plan, statistics (for MetaGPT's λ and the gate), gate, then the streamed output.
///
/// ```swift
/// let merge = try Merge(configuration: .load(contentsOf: configURL), options: options)
/// try merge.prepare(progress: reporter)          // reads the weights once when λ or the gate need statistics
/// if let gate = merge.plan.gate, !gate.passed, !options.force { /* refuse: exit 1 */ }
/// try merge.write(to: outputURL, progress: reporter)
/// ```
public final class Merge: @unchecked Sendable {
    public private(set) var plan: MergePlan
    public let options: MergeOptions
    /// The task-vector statistics, when they were needed.
    public private(set) var statistics: TaskVectorStatistics?

    public init(configuration: MergeConfiguration, options: MergeOptions = MergeOptions()) throws {
        self.options = options
        self.plan = try MergePlan(configuration: configuration, options: options)
        if let gate = gateSpec, plan.baseIndex == nil || plan.taskIndices.isEmpty {
            throw MergeConfigError(
                .missingKey, file: configuration.file,
                "the gate (\(gate.summary)) compares task vectors θₜ − θ₀ and needs a base_model and at least one other model")
        }
    }

    /// The gate to run: `--gate`, else the config's `gate:` block.
    public var gateSpec: GateThresholds? { options.gate ?? plan.configuration.gate }

    var granularity: String { plan.sharedValue("granularity")?.string ?? "global" }
    var normSource: String { plan.sharedValue("norm_source")?.string ?? "original" }

    /// Whether the one-pass statistics are needed: MetaGPT's λ from the original task vectors, or the gate.
    public var needsStatistics: Bool {
        gateSpec != nil || (plan.method.isMetaGPT && normSource == "original")
    }

    /// Computes or reads the statistics when needed, MetaGPT's λ, and the gate's verdict (recorded in
    /// ``MergePlan/gate``; a failure with ``MergeOptions/force`` is marked forced).
    public func prepare(progress: (any MergeProgressReporting)? = nil) throws {
        if needsStatistics {
            statistics = try loadStatistics(progress: progress)
        }
        if plan.method.isMetaGPT {
            try computeLambdas(progress: progress)
        }
        if let spec = gateSpec, let statistics {
            var outcome = try MergeGate.evaluate(spec, statistics: statistics, probe: options.probeReport)
            if !outcome.passed && options.force { outcome.forced = true }
            plan.gate = outcome
        }
    }

    // MARK: Statistics

    private func family() throws -> ModelFamily {
        guard let base = plan.baseIndex else {
            throw MergeConfigError(.missingKey, file: plan.configuration.file, "task-vector statistics need a base_model")
        }
        return try ModelFamily(
            base: plan.inputs[base].checkpoint,
            tasks: plan.taskIndices.map { ModelFamily.Member(name: plan.inputs[$0].reference, checkpoint: plan.inputs[$0].checkpoint) })
    }

    /// Maps this merge's task k to the statistics' task index (identity when computed here).
    private var taskOrder: [Int] = []

    private func loadStatistics(progress: (any MergeProgressReporting)?) throws -> TaskVectorStatistics {
        let family = try family()
        if let url = options.statisticsReport {
            let report = try readStatisticsReport(url)
            taskOrder = try matchReport(report, url: url)
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

    /// Checks that a report describes these models (by weight fingerprints) and maps our tasks to its tasks.
    private func matchReport(_ report: TaskVectorStatistics, url: URL) throws -> [Int] {
        let models = report.provenance.models
        guard let base = plan.baseIndex, let reportBase = models.first(where: { $0.role == "base" }) else {
            throw MergeConfigError(.badValue, file: url, "the report names no base model; re-run `metamerge analyze`")
        }
        let baseFingerprint = try plan.inputs[base].checkpoint.fingerprint()
        guard reportBase.fingerprint == baseFingerprint else {
            throw MergeConfigError(
                .badValue, file: url,
                "was computed for another base model (fingerprint \(reportBase.fingerprint), \(plan.inputs[base].reference) has \(baseFingerprint)); re-run `metamerge analyze` on these models")
        }
        var order: [Int] = []
        for index in plan.taskIndices {
            let fingerprint = try plan.inputs[index].checkpoint.fingerprint()
            guard let role = models.first(where: { $0.role != "base" && $0.fingerprint == fingerprint })?.role,
                let position = report.taskNames.firstIndex(of: role)
            else {
                throw MergeConfigError(
                    .badValue, file: url,
                    "has no statistics for model '\(plan.inputs[index].reference)' (fingerprint \(fingerprint)); re-run `metamerge analyze` on these models")
            }
            order.append(position)
        }
        if report.taskCount != order.count {
            throw MergeConfigError(
                .badValue, file: url,
                "covers \(report.taskCount) task models, the config merges \(order.count); re-run `metamerge analyze` with the same models")
        }
        return order
    }

    // MARK: MetaGPT

    /// λₜ = ‖τₜ‖² / Σₖ ‖τₖ‖² from squared norms (uniform 1/T when all are zero), as `GramMatrix.metagptLambdas`.
    static func lambdas(fromSquaredNorms norms: [Double]) -> [Double] {
        let total = norms.reduce(0, +)
        guard total > 0, total.isFinite else { return [Double](repeating: 1 / Double(norms.count), count: norms.count) }
        return norms.map { $0 / total }
    }

    private func computeLambdas(progress: (any MergeProgressReporting)?) throws {
        let perTensor = granularity == "per_tensor"
        var tensorNorms: [String: [Double]] = [:]
        if normSource == "original" {
            guard let statistics else { return }
            for tensor in statistics.tensors {
                let gram = tensor.moments.gram
                tensorNorms[tensor.name] = taskOrder.map { gram[$0, $0] }
            }
            plan.lambdaSource = options.statisticsReport == nil
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
                plan.tensors[index].lambdas = Self.lambdas(fromSquaredNorms: norms)
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
            let lambdas = Self.lambdas(fromSquaredNorms: total)
            plan.globalLambdas = lambdas
            plan.lambdaNorms = total
            for index in plan.tensors.indices where !plan.tensors[index].isCopied {
                plan.tensors[index].lambdas = lambdas
            }
        }
    }

    /// ‖sparsify(τₜ)‖² per tensor: the sparsification (and rescale) of the merge itself, with the same seed.
    private func sparsifiedNorms(progress: (any MergeProgressReporting)?) throws -> [String: [Double]] {
        let executor = MergeExecutor(plan: plan, options: options)
        let tensors = plan.tensors.filter { !$0.isCopied }
        progress?.begin("sparsified norms", total: Double(tensors.reduce(0) { $0 + $1.elementCount }))
        var result: [String: [Double]] = [:]
        for tensor in tensors {
            let (kernel, sources) = try executor.kernel(for: tensor, mode: .squaredNorms)
            _ = try executor.reduce(kernel, sources: sources, count: tensor.elementCount)
            result[tensor.name] = (kernel as! TaskArithmeticKernel).squaredNorms
            progress?.advance(Double(tensor.elementCount))
        }
        progress?.end()
        return result
    }

    // MARK: Output

    /// What ``write(to:overwrite:progress:)`` produced.
    public struct Result: Sendable {
        public let directory: URL
        public let shards: [String]
        public let tensorCount: Int
        public let bytes: Int
    }

    /// Merges every tensor and writes the model directory: safetensors shards (+ index when more than one),
    /// `config.json`, the tokenizer files, `mergekit_config.yml` (the config as given) and `README.md` (the model
    /// card). Everything goes to a temporary sibling renamed into place when complete.
    ///
    /// - Throws: when ``prepare(progress:)`` was not called but is needed, on a gate failure without `force`, or
    ///   on any read/write error (nothing is left under `directory`).
    @discardableResult
    public func write(to directory: URL, overwrite: Bool = false, progress: (any MergeProgressReporting)? = nil) throws -> Result {
        if plan.method.isMetaGPT, plan.tensors.contains(where: { !$0.isCopied && $0.lambdas == nil }) {
            throw MergeConfigError(.badValue, "MetaGPT coefficients are not computed: call prepare() first")
        }
        if gateSpec != nil, plan.gate == nil {
            throw MergeConfigError(.badValue, "the gate has not been evaluated: call prepare() first")
        }
        if let gate = plan.gate, !gate.passed, !gate.forced {
            throw MergeConfigError(.badValue, "the gate failed (\(gate.violations.count) violation(s)); refusing to write without --force")
        }
        let entries = plan.tensors.map { ModelWriter.Entry(name: $0.name, dtype: $0.dtype, shape: $0.shape) }
        let writer = try ModelWriter(destination: directory, entries: entries, shardSize: options.shardSize, overwrite: overwrite)
        do {
            let executor = MergeExecutor(plan: plan, options: options)
            progress?.begin("merge", total: Double(plan.tensors.reduce(0) { $0 + $1.elementCount }))
            try executor.write(to: writer, progress: progress)
            progress?.end()
            try writer.copySupportFiles(from: plan.tokenizerSource, includingConfig: false)
            try writeConfig(to: writer)
            try writer.writeFile(named: "mergekit_config.yml", contents: Data(plan.configuration.text.utf8))
            try writer.writeFile(named: "README.md", contents: Data(ModelCard.render(plan: plan, name: directory.lastPathComponent).utf8))
            try writer.commit()
        } catch {
            writer.abort()
            throw error
        }
        return Result(
            directory: directory, shards: writer.shards.map(\.file), tensorCount: entries.count,
            bytes: entries.reduce(0) { $0 + $1.byteCount })
    }

    /// `config.json` of the base (else the first model), copied as is unless the output differs from it: the
    /// dtype (`out_dtype`/`dtype`, as MergeKit records it), a vocabulary trimmed to common rows, or an `lm_head`
    /// stored although the config ties it.
    private func writeConfig(to writer: ModelWriter) throws {
        let url = plan.configSource.appendingPathComponent("config.json")
        let data = try Data(contentsOf: url)
        guard var json = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw CheckpointError(.badConfig, url: url, "is not a JSON object")
        }
        var changed = false
        if let dtype = plan.configuration.outDtype ?? plan.configuration.dtype {
            let name = dtypeName(dtype)
            // Transformers 5 writes `dtype`, earlier versions `torch_dtype`: update the keys present (else add
            // `torch_dtype`, which both read).
            let keys = ["torch_dtype", "dtype"].filter { json[$0] != nil }
            for key in keys.isEmpty ? ["torch_dtype"] : keys where json[key] as? String != name {
                json[key] = name
                changed = true
            }
        }
        if let embedding = plan.tensors.first(where: { TensorGroup(tensorName: $0.name) == .embeddings }), embedding.isTrimmed,
            let vocab = json["vocab_size"] as? Int, vocab != embedding.shape[0]
        {
            json["vocab_size"] = embedding.shape[0]
            plan.notes.append("config.json: vocab_size set to \(embedding.shape[0]) (the common rows)")
            changed = true
        }
        if let rows = plan.vocabularySize, json["vocab_size"] as? Int != rows {  // tokenizer alignment: the output's rows
            json["vocab_size"] = rows
            changed = true
        }
        if !plan.layerMap.isEmpty, json["num_hidden_layers"] as? Int != plan.layerCount {  // slices: the output's layers
            json["num_hidden_layers"] = plan.layerCount
            changed = true
        }
        if plan.tensors.contains(where: { $0.name == "lm_head.weight" }), json["tie_word_embeddings"] as? Bool == true {
            json["tie_word_embeddings"] = false
            plan.notes.append("config.json: tie_word_embeddings set to false (some inputs store lm_head.weight, so the merge does)")
            changed = true
        }
        if !changed {
            try writer.writeFile(named: "config.json", contents: data)
            return
        }
        let output = try JSONSerialization.data(withJSONObject: json, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        try writer.writeFile(named: "config.json", contents: output + Data("\n".utf8))
    }
}

/// Reads the statistics of a `metamerge analyze` report.
func readStatisticsReport(_ url: URL) throws -> TaskVectorStatistics {
    try AnalysisReport.read(from: url)
}
