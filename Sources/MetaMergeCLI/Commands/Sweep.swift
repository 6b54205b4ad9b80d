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
        var weights: String = "uniform,metagpt"

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
                let family = try family.load()
                let url = URL(fileURLWithPath: output)
                let result = try Self.runSweep(
                    family, tasks: tasks, scales: try scales.values(), weights: weights, output: url,
                    quiet: quiet)
                if json {
                    Terminal.out(try jsonString(SweepJSON(result)))
                } else {
                    Terminal.out(Self.render(result))
                    Terminal.out("report: \(output)")
                }
            }
        }

        /// ``SweepRun`` with the command line's notes and progress display; `lambdas` when the caller has them (the
        /// demo, from its analysis).
        static func runSweep(
            _ family: ModelFamily, tasks: [String], scales: [Double], weights: String, output url: URL,
            lambdas: [Double]? = nil, quiet: Bool
        ) throws -> SweepResult {
            var sweep = SweepRun(family: family, tasks: tasks, scales: scales, weights: weights, report: url)
            sweep.lambdas = lambdas
            let progress = Progress("sweep", total: 1, enabled: !quiet)
            let result = try sweep.run(info: { if !quiet { Terminal.info($0) } }) { done, total in
                progress.advance(by: 1 / Double(total), item: "\(done)/\(total)")
            }
            progress.finish()
            return result
        }

        static func render(_ result: SweepResult) -> String {
            let names = result.evalTasks
            let width = names.map { max($0.count, 7) }
            func cell(_ text: String, _ w: Int) -> String {
                String(repeating: " ", count: max(0, w - text.count)) + text
            }
            var lines: [String] = []
            lines.append("Exact match (%) per task; mean NLL over tasks:")
            for (i, weighting) in result.grid.weightings.enumerated() {
                lines.append("")
                lines.append(
                    "weights \(weighting.name) = ("
                        + weighting.weights.map { String(format: "%.3g", $0) }.joined(separator: ", ") + ")")
                lines.append("      s" + zip(names, width).map { "  " + cell($0, $1) }.joined() + "     mean  mean NLL")
                for (k, s) in result.grid.scales.enumerated() {
                    let row = result.metrics[i][k]
                    lines.append(
                        cell(String(format: "%.4g", s), 7)
                            + zip(row, width).map { "  " + cell(String(format: "%.1f", 100 * $0.exactMatchRate), $1) }
                            .joined()
                            + String(format: "  %7.1f  %8.4f", 100 * result.meanExactMatch(i, k), result.meanNLL(i, k)))
                }
            }
            lines.append("")
            lines.append("Best point (highest exact match, then lowest NLL):")
            for (e, name) in (names.map(Optional.some) + [nil]).enumerated() {
                let best = result.best(task: name == nil ? nil : e)
                let em =
                    name == nil
                    ? result.meanExactMatch(best.0, best.1) : result.metrics[best.0][best.1][e].exactMatchRate
                lines.append(
                    "  " + (name ?? "mean").padding(toLength: max(width.max() ?? 7, 7), withPad: " ", startingAt: 0)
                        + String(
                            format: "  %@ × s = %g: exact match %.1f%%", result.grid.weightings[best.0].name,
                            result.grid.scales[best.1], 100 * em))
            }
            return lines.joined(separator: "\n")
        }
    }
}

/// `sweep --json`.
struct SweepJSON: Encodable {
    struct Point: Encodable {
        let weighting: String
        let scale: Double
        let coefficients: [Float]
        let exactMatch: [Int]
        let tokenAccuracy: [Double]
        let meanNLL: [Double]
        let meanExactMatchRate: Double
    }
    let modelTasks: [String]
    let tasks: [String]
    let points: [Point]
    let bestWeighting: String
    let bestScale: Double

    init(_ result: SweepResult) {
        modelTasks = result.modelTasks
        tasks = result.evalTasks
        var points: [Point] = []
        let coefficients = result.grid.points
        let S = result.grid.scales.count
        for (i, weighting) in result.grid.weightings.enumerated() {
            for (k, s) in result.grid.scales.enumerated() {
                let row = result.metrics[i][k]
                points.append(
                    Point(
                        weighting: weighting.name, scale: s, coefficients: coefficients[i * S + k],
                        exactMatch: row.map(\.exactMatch),
                        tokenAccuracy: row.map(\.tokenAccuracy), meanNLL: row.map(\.meanNLL),
                        meanExactMatchRate: result.meanExactMatch(i, k)))
            }
        }
        self.points = points
        let best = result.best(task: nil)
        bestWeighting = result.grid.weightings[best.weighting].name
        bestScale = result.grid.scales[best.scale]
    }
}
