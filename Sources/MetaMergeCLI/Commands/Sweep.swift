import ArgumentParser
import Checkpoints
import Evaluation
import Foundation

extension MetaMerge {
    struct Sweep: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Evaluate a grid of merge points c = s·w (total scales × weightings) in one lockstep run.",
            discussion: """
                Every point θ0 + Σ_t s·w_t τ_t goes through the model together (the weights are read once per lockstep \
                group, not once per point); the tasks are scored as `metamerge eval` scores them. Weightings: uniform \
                (1/T each), metagpt (λ_t = ‖τ_t‖²/Σ‖τ_k‖²), or a vector w1:w2:… (one weight per task model). Writes \
                the /sweep group (docs/hdf5-schema.md) into -o: a new report, or added to an analysis or probe report. \
                CONFIG (or --base/--model) names the family; its merge_method and parameters are not used.
                """)

        @OptionGroup var family: FamilyOptions

        @Option(name: .customLong("task"), help: "A task file, NAME=FILE.jsonl (repeat for each task).")
        var tasks: [String] = []

        @Option(help: "Total scales s, start:end:step (end included) or a comma list.")
        var scales: GridArgument = "0.25:3:0.25"

        @Option(help: "Weightings w, comma-separated: uniform, metagpt, w1:w2:… .")
        var weights: WeightsArgument = "uniform,metagpt"

        @Option(name: .shortAndLong, help: "The HDF5 report to write (or an analysis/probe report to add /sweep to).")
        var output: String

        @Flag(help: "Print JSON on stdout instead of tables.")
        var json = false

        @Flag(help: "No progress output.")
        var quiet = false

        func validate() throws {
            guard !tasks.isEmpty else { throw ValidationError("give at least one --task NAME=FILE.jsonl") }
            try validateOutputPath(output)
        }

        func run() async throws {
            try await reportingErrors {
                let sweep = SweepRun(
                    family: try family.load(), tasks: tasks, scales: try scales.values(), weights: weights.weights,
                    report: URL(fileURLWithPath: output))
                let progress = Progress("sweep", total: 1, enabled: !quiet)
                let result = try sweep.run(info: { if !quiet { Terminal.info($0) } }) { done, total in
                    progress.advance(by: 1 / Double(total), item: "\(done)/\(total)")
                }
                progress.finish()
                if json {
                    Terminal.out(try jsonString(SweepJSON(result)))
                } else {
                    Terminal.out(SweepTable(result: result).text)
                    Terminal.out("report: \(output)")
                }
            }
        }
    }
}
