import ArgumentParser
import Evaluation
import Foundation

extension MetaMerge {
    struct Eval: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Exact match, token accuracy and completion NLL of a model, or of a merge point without writing it.",
            discussion: """
                MODEL_DIR is a model directory, or BASE+ADAPTER (a PEFT LoRA adapter on BASE, applied as \
                merge_and_unload() would, without writing it); CONFIG a MergeKit YAML of a method linear in the \
                task vectors \
                (linear, task_arithmetic, metagpt with global λ), evaluated at θ0 + Σ c_t τ_t without writing the \
                merge. \
                A task file is JSONL, one {"prompt": …, "completion": …} per line; prompt and completion are encoded \
                separately with the (base) model's tokenizer.json, without post-processing, and concatenated. \
                Exact match: every completion token is the argmax (first maximal index) given the prompt and the gold \
                prefix. Exit status: 0, or 2 for bad input (naming the file and line).
                """)

        @Argument(
            help: "A model directory, BASE+ADAPTER, a hub id ORG/NAME[@REVISION] in the local cache, or a merge config.")
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
                let target = try EvaluationTarget.open(input)
                let progress = Progress("eval", total: 1, enabled: !quiet)
                let (taskList, metrics) = try target.evaluate(
                    taskArguments: tasks, report: output.map { URL(fileURLWithPath: $0) }
                ) { done, total in progress.advance(by: 1 / Double(total), item: "\(done)/\(total)") }
                progress.finish()
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
                    Terminal.out(EvalTable(names: taskList.map(\.name), metrics: metrics).text)
                    if let output { Terminal.out("report: \(output)") }
                }
            }
        }
    }
}
