import Checkpoints
import Foundation
import Merging
import SafeTensors
import Statistics
import Tokenizers
import Transformer

/// What `eval` and `sweep` run: one model directory, or a family at points θ0 + Σ_t c_t τ_t — e.g. the point a
/// merge config describes (``mergeConfig(_:)``), evaluated without writing the merge.
public struct EvaluationTarget {
    public let engine: LockstepEngine
    /// The directory whose tokenizer.json encodes the tasks (the model, or the base).
    public let tokenizerDirectory: URL
    /// The models run, with their roles (`model`; or `base` then the task names), as the report records them.
    public let checkpoints: [(role: String, checkpoint: Checkpoint)]
    /// The task models' names (empty for a model directory).
    public let modelTasks: [String]
    /// c per task model (empty for a model directory).
    public let point: [Double]
    public let config: TransformerConfig
    /// The prepared merge whose point this is (``mergeConfig(_:)``); its plan holds the checkpoints run.
    public private(set) var merge: PreparedMerge?

    /// The family run, when the target is one (its LoRA adapter tasks are not in ``checkpoints``' weight files).
    public private(set) var family: ModelFamily?

    /// Every input directory and weight file (LoRA adapters' too).
    public var inputs: [URL] {
        if let family { return AnalysisReport.inputs(of: family) }
        return checkpoints.flatMap { [$0.checkpoint.directory] + $0.checkpoint.files.map(\.url) }
    }

    /// A directory (or a GGUF file, refused by ``Checkpoint``) is a model, another file a config; a path that does
    /// not exist is a config when it ends in `.yml` / `.yaml`, else a model reference: `BASE+ADAPTER` (the model
    /// PEFT's `merge_and_unload()` gives: the family of BASE and the adapter at c = 1, W0 + s·B·A, never written) or
    /// a hub id in the cache (``ModelReference``).
    public static func open(_ path: String) throws -> EvaluationTarget {
        var isDirectory: ObjCBool = false
        var url = URL(fileURLWithPath: path)
        let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
        if !exists, !["yml", "yaml"].contains(url.pathExtension.lowercased()) {
            let reference = try ModelReference.resolve(path, allowingAdapter: true)
            if let adapter = reference.adapter {
                let family = try FamilySpec(base: reference.url, tasks: [(reference.name, adapter)]).open()
                return try EvaluationTarget(family: family, point: [1])
            }
            url = reference.url
            isDirectory = true
        }
        if isDirectory.boolValue || GGUFHeader.read(url) != nil {
            return try model(Checkpoint(directory: url))
        }
        return try mergeConfig(url)
    }

    /// One model directory: its own weights, no task vectors (the point is `[]`).
    public static func model(_ model: Checkpoint) throws -> EvaluationTarget {
        EvaluationTarget(
            engine: try CompletionEvaluator.engine(model: model), tokenizerDirectory: model.directory,
            checkpoints: [("model", model)], modelTasks: [], point: [],
            config: try TransformerConfig(checkpoint: model))
    }

    /// The point θ0 + Σ c τ of the merge config at `url` (``PreparedMerge/linearPoint()``), for a method linear in
    /// the task vectors. Each checkpoint is opened once, by the merge's plan; the family run is made of those same
    /// checkpoints (the base, then the task models in the plan's order, named as ``MergeConfiguration/familySpec()``
    /// names them), so c maps to the task models by identity.
    ///
    /// - Throws: ``MergeConfigError`` for a config that is not such a point (or is bad), a read error.
    public static func mergeConfig(_ url: URL) throws -> EvaluationTarget {
        let configuration = try MergeConfiguration.load(contentsOf: url)
        _ = try configuration.familySpec()  // its checks (a base_model, distinct task names), before any model opens
        let prepared = try Merge(configuration: configuration, options: MergeOptions()).prepare()
        let plan = prepared.plan
        guard plan.baseIndex != nil else {
            throw MergeConfigError(.missingKey, file: url, "has no base_model: task vectors need a base model")
        }
        let family = try plan.family(purpose: "eval and sweep of a merge point") { input in
            try configuration.resolveReference(input.reference, allowingAdapter: true).name
        }
        var target = try EvaluationTarget(family: family, point: try prepared.linearPoint())
        target.merge = prepared
        return target
    }

    /// `family` at `point` (one coefficient per task model; `[]` for a sweep, whose points come with the run).
    public init(family: ModelFamily, point: [Double]) throws {
        self.init(
            engine: try CompletionEvaluator.engine(family: family), tokenizerDirectory: family.base.directory,
            checkpoints: [("base", family.base)] + family.tasks.map { ($0.name, $0.checkpoint) },
            modelTasks: family.taskNames, point: point, config: try TransformerConfig(checkpoint: family.base))
        self.family = family
    }

    init(
        engine: LockstepEngine, tokenizerDirectory: URL, checkpoints: [(role: String, checkpoint: Checkpoint)],
        modelTasks: [String], point: [Double], config: TransformerConfig
    ) {
        self.engine = engine
        self.tokenizerDirectory = tokenizerDirectory
        self.checkpoints = checkpoints
        self.modelTasks = modelTasks
        self.point = point
        self.config = config
        self.merge = nil
        self.family = nil
    }

    /// The task files of `--task NAME=FILE.jsonl` arguments.
    public func taskURLs(_ arguments: [String]) throws -> [URL] {
        try arguments.map { try EvalTask.parseArgument($0).url }
    }

    /// Loads `--task NAME=FILE.jsonl` arguments with the target's tokenizer, checked against its vocabulary and
    /// context length.
    ///
    /// - Throws: ``AnalysisError/badArgument(_:cause:)`` for a missing or bad tokenizer.json, two tasks of one name,
    ///   or a bad task file (naming the file and line).
    public func loadTasks(_ arguments: [String]) throws -> [EvalTask] {
        let tokenizer: Tokenizer
        do { tokenizer = try Tokenizer(contentsOf: tokenizerDirectory) } catch let error as TokenizerError {
            throw AnalysisError.badArgument("\(error.message); eval needs the model's tokenizer.json", cause: error)
        }
        var names: Set<String> = []
        return try arguments.map { argument in
            let (name, url) = try EvalTask.parseArgument(argument)
            guard names.insert(name).inserted else {
                throw AnalysisError.badArgument("--task: two tasks are named '\(name)'")
            }
            return try EvalTask.load(
                name: name, url: url, tokenizer: tokenizer, vocabularySize: config.vocabularySize,
                maxLength: config.maxPositionEmbeddings)
        }
    }

    /// The metrics of each task at the target's point.
    ///
    /// - Parameter progress: called with (done, total) forward batches.
    public func evaluate(
        _ tasks: [EvalTask], evaluator: CompletionEvaluator = CompletionEvaluator(),
        progress: (@Sendable (Int, Int) -> Void)? = nil
    ) throws -> [TaskMetrics] {
        try evaluator.run(engine: engine, points: [point.map(Float.init)], tasks: tasks, progress: progress)[0]
    }

    /// "Evaluate this target": loads the `--task NAME=FILE.jsonl` arguments (``loadTasks(_:)``), scores them at the
    /// target's point (``evaluate(_:evaluator:progress:)``) and, with `report`, writes `/eval` into it — a path
    /// checked before anything runs (``AnalysisReport/checkDestination(_:inputs:)``).
    ///
    /// - Returns: the tasks and their metrics, in the arguments' order.
    public func evaluate(
        taskArguments: [String], report: URL?, progress: (@Sendable (Int, Int) -> Void)? = nil
    ) throws -> (tasks: [EvalTask], metrics: [TaskMetrics]) {
        if let report { try AnalysisReport.checkDestination(report, inputs: inputs + taskURLs(taskArguments)) }
        let tasks = try loadTasks(taskArguments)
        let metrics = try evaluate(tasks, progress: progress)
        if let report {
            try EvaluationReport.write(
                metrics, tasks: tasks, modelTasks: modelTasks, coefficients: point, provenance: try provenance(),
                to: report)
        }
        return (tasks, metrics)
    }

    /// The models run, with weight fingerprints, for the report.
    public func provenance() throws -> Provenance {
        // A family's provenance records a LoRA adapter task by its folder and base + adapter fingerprint.
        if let family { return try Provenance.current(family) }
        return try Provenance.current(checkpoints)
    }
}
