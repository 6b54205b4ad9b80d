import ArgumentParser
import Checkpoints
import Evaluation
import Foundation
import Merging
import Statistics
import Tokenizers
import Transformer

extension MetaMerge {
    struct Eval: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Exact match, token accuracy and completion NLL of a model, or of a merge point without writing it.",
            discussion: """
                MODEL_DIR is a model directory; CONFIG a MergeKit YAML of a method linear in the task vectors \
                (linear, task_arithmetic, metagpt with global λ), evaluated at θ0 + Σ c_t τ_t without writing the \
                merge. \
                A task file is JSONL, one {"prompt": …, "completion": …} per line; prompt and completion are encoded \
                separately with the (base) model's tokenizer.json, without post-processing, and concatenated. \
                Exact match: every completion token is the argmax (first maximal index) given the prompt and the gold \
                prefix. Exit status: 0, or 2 for bad input (naming the file and line).
                """)

        @Argument(help: "A model directory (or a hub id ORG/NAME[@REVISION] in the local cache), or a merge config.")
        var input: String

        @Option(name: .customLong("task"), help: "A task file, NAME=FILE.jsonl (repeat for each task).")
        var tasks: [String] = []

        @Option(name: .shortAndLong, help: "Write the metrics as /eval into this HDF5 report.")
        var output: String?

        @Flag(help: "Print JSON on stdout instead of a table.")
        var json = false

        @Flag(help: "No progress output.")
        var quiet = false

        func validate() throws {
            guard !tasks.isEmpty else { throw ValidationError("give at least one --task NAME=FILE.jsonl") }
            if let output { try validateOutputPath(output) }
        }

        func run() async throws {
            try await reportingErrors {
                let target = try EvalTarget.open(input)
                if let output {
                    try AnalysisReport.checkDestination(
                        URL(fileURLWithPath: output), inputs: target.inputs + target.taskURLs(tasks))
                }
                let taskList = try target.loadTasks(tasks)
                let progress = Progress("eval", total: 1, enabled: !quiet)
                let metrics = try CompletionEvaluator().run(
                    engine: target.engine, points: [target.point.map(Float.init)], tasks: taskList
                ) { done, total in progress.advance(by: 1 / Double(total), item: "\(done)/\(total)") }[0]
                progress.finish()
                if let output {
                    try EvaluationReport.write(
                        metrics, tasks: taskList, modelTasks: target.modelTasks, coefficients: target.point,
                        provenance: try target.provenance(), to: URL(fileURLWithPath: output))
                }
                if json {
                    Terminal.out(try jsonString(EvalJSON(target: target, tasks: taskList, metrics: metrics)))
                } else {
                    if !target.point.isEmpty {
                        Terminal.out(
                            "point θ0 + Σ c τ: "
                                + zip(target.modelTasks, target.point).map {
                                    String(format: "%@ %.4g", $0, $1)
                                }.joined(separator: ", "))
                    }
                    Terminal.out(Self.render(taskList.map(\.name), metrics))
                    if let output { Terminal.out("report: \(output)") }
                }
            }
        }

        static func render(_ names: [String], _ metrics: [TaskMetrics]) -> String {
            let width = max(names.map(\.count).max() ?? 4, 4)
            var lines = [
                "task".padding(toLength: width, withPad: " ", startingAt: 0)
                    + "  items  exact match     token acc.  mean NLL"
            ]
            for (name, m) in zip(names, metrics) {
                lines.append(
                    name.padding(toLength: width, withPad: " ", startingAt: 0)
                        + String(
                            format: "  %5d  %4d (%5.1f%%)  %10.4f  %8.4f", m.items, m.exactMatch,
                            100 * m.exactMatchRate, m.tokenAccuracy, m.meanNLL))
            }
            return lines.joined(separator: "\n")
        }
    }
}

/// What `eval` runs: one model directory, or the point of a merge config.
struct EvalTarget {
    let engine: LockstepEngine
    /// The directory whose tokenizer.json encodes the tasks (the model, or the base).
    let tokenizerDirectory: URL
    let checkpoints: [(role: String, checkpoint: Checkpoint)]
    let modelTasks: [String]
    /// c per task model (empty for a model directory).
    let point: [Double]
    let config: TransformerConfig

    var inputs: [URL] { checkpoints.flatMap { [$0.checkpoint.directory] + $0.checkpoint.files.map(\.url) } }

    /// A directory (or a GGUF file, refused by ``Checkpoint``) is a model, another file a config; a path that does
    /// not exist is a config when it ends in `.yml` / `.yaml`, else a model reference (a hub id in the cache).
    static func open(_ path: String) throws -> EvalTarget {
        var isDirectory: ObjCBool = false
        var url = URL(fileURLWithPath: path)
        let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
        if !exists, !["yml", "yaml"].contains(url.pathExtension.lowercased()) {
            url = try ModelReference.resolve(path).url
            isDirectory = true
        }
        if isDirectory.boolValue || GGUFHeader.read(url) != nil {
            let model = try Checkpoint(directory: url)
            return EvalTarget(
                engine: try CompletionEvaluator.engine(model: model), tokenizerDirectory: url,
                checkpoints: [("model", model)], modelTasks: [], point: [],
                config: try TransformerConfig(checkpoint: model))
        }
        let configuration = try MergeConfiguration.load(contentsOf: url)
        let family = try configuration.familySpec().open()
        let prepared = try Merge(configuration: configuration, options: MergeOptions()).prepare()
        let point = try prepared.linearPoint(taskDirectories: family.tasks.map(\.checkpoint.directory))
        return try EvalTarget(family: family, point: point)
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
    }

    init(family: ModelFamily, point: [Double]) throws {
        self.init(
            engine: try CompletionEvaluator.engine(family: family), tokenizerDirectory: family.base.directory,
            checkpoints: [("base", family.base)] + family.tasks.map { ($0.name, $0.checkpoint) },
            modelTasks: family.taskNames, point: point, config: try TransformerConfig(checkpoint: family.base))
    }

    func taskURLs(_ arguments: [String]) throws -> [URL] {
        try arguments.map { try EvalTask.parseArgument($0).url }
    }

    func loadTasks(_ arguments: [String]) throws -> [EvalTask] {
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

    func provenance() throws -> Provenance { try Provenance.current(checkpoints) }
}

/// `eval --json`.
struct EvalJSON: Encodable {
    struct Task: Encodable {
        let name: String
        let file: String
        let items: Int
        let exactMatch: Int
        let exactMatchRate: Double
        let completionTokens: Int
        let correctTokens: Int
        let tokenAccuracy: Double
        let meanNLL: Double
    }
    let modelTasks: [String]
    let coefficients: [Double]
    let tasks: [Task]

    init(target: EvalTarget, tasks: [EvalTask], metrics: [TaskMetrics]) {
        modelTasks = target.modelTasks
        coefficients = target.point
        self.tasks = zip(tasks, metrics).map { task, m in
            Task(
                name: task.name, file: task.url.path, items: m.items, exactMatch: m.exactMatch,
                exactMatchRate: m.exactMatchRate,
                completionTokens: m.completionTokens, correctTokens: m.correctTokens, tokenAccuracy: m.tokenAccuracy,
                meanNLL: m.meanNLL)
        }
    }
}
