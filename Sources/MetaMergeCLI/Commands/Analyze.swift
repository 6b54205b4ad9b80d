import ArgumentParser
import Checkpoints
import Foundation
import SafeTensors
import Statistics

extension MetaMerge {
    struct Analyze: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Task-vector statistics in one pass: cosines (global, per layer, per tensor), norms, MetaGPT's λ.",
            discussion:
                "Writes an HDF5 report (schema: docs/hdf5-schema.md) and prints the global cosine matrix, MetaGPT's λ, "
                + "relative norms and the least orthogonal layers."
        )

        @OptionGroup var family: FamilyOptions

        @Option(name: .shortAndLong, help: "The HDF5 report to write.")
        var output: String

        @Option(help: "Worker threads (default: all cores).")
        var threads: Int = ProcessInfo.processInfo.activeProcessorCount

        @Flag(help: "Print a JSON summary on stdout instead of tables.")
        var json = false

        func validate() throws {
            try validateOutputPath(output)
            try validateThreads(threads)
        }

        func run() async throws {
            try await reportingErrors {
                let family = try family.load()
                try AnalysisReport.checkDestination(
                    URL(fileURLWithPath: output), inputs: AnalysisReport.inputs(of: family))
                let statistics = try Self.computeStatistics(family, threads: threads)
                try AnalysisReport.write(statistics, to: URL(fileURLWithPath: output))
                let summary = StatisticsSummary(statistics)
                if json {
                    Terminal.out(try jsonString(summary))
                } else {
                    Terminal.out(Self.render(summary))
                    Terminal.out("report: \(output)")
                }
            }
        }

        /// Runs the statistics pass with a progress display.
        static func computeStatistics(_ family: ModelFamily, threads: Int) throws -> TaskVectorStatistics {
            let bytes = family.tensors.reduce(0) { $0 + $1.elementCount * $1.dtypes.reduce(0) { $0 + $1.byteSize } }
            let progress = Progress("analyze", total: Double(bytes))
            let statistics = try StatisticsPass(threads: threads).run(
                family, commandLine: CommandLine.arguments.joined(separator: " "),
                progress: { progress.advance(by: Double($0)) })
            progress.finish()
            for note in family.checkpoints.flatMap(\.notes) { Terminal.info("note: \(note)") }
            return statistics
        }

        static func render(_ summary: StatisticsSummary) -> String {
            var lines: [String] = []
            let width = max(summary.tasks.map(\.count).max() ?? 0, 6)
            func pad(_ text: String) -> String { text.padding(toLength: width, withPad: " ", startingAt: 0) }
            lines.append(
                "Compared \(summary.tensorsCompared) tensors, \(summary.parametersCompared) parameters per model.")
            lines.append("")
            lines.append("Global task-vector cosine matrix:")
            lines.append(pad("") + "  " + summary.tasks.map { pad($0) }.joined(separator: "  "))
            for (i, row) in summary.cosine.enumerated() {
                let cells = row.map { pad($0.map { String(format: "%+.4f", $0) } ?? "undef") }
                lines.append(pad(summary.tasks[i]) + "  " + cells.joined(separator: "  "))
            }
            lines.append("")
            lines.append(
                pad("task") + "  "
                    + ["MetaGPT λ", "‖τ‖", "‖τ‖/‖θ0‖"].map { $0.padding(toLength: 11, withPad: " ", startingAt: 0) }
                    .joined(separator: " "))
            for (t, task) in summary.tasks.enumerated() {
                lines.append(
                    pad(task) + "  "
                        + [summary.metagptLambda[t], summary.norm[t], summary.relativeNorm[t]]
                        .map { String(format: "%-11.5g", $0) }.joined(separator: " "))
            }
            lines.append(String(format: "sign conflicts: %.2f%% of coordinates", summary.signConflictRate * 100))
            lines.append("")
            lines.append("Least orthogonal groups (max |cos| over task pairs):")
            for layer in summary.leastOrthogonal.prefix(5) {
                let value = layer.maxAbsCosine.map { String(format: "%.4f", $0) } ?? "undefined"
                lines.append(
                    "  \(layer.label.padding(toLength: 12, withPad: " ", startingAt: 0)) \(value)  "
                        + "\(layer.pair.joined(separator: " · "))"
                )
            }
            if summary.nonFiniteValues.contains(where: { $0 > 0 }) {
                lines.append(
                    "warning: non-finite weights (left out of every sum), per model base, tasks: "
                        + "\(summary.nonFiniteValues)"
                )
            }
            if !summary.problems.isEmpty {
                lines.append("")
                lines.append("Tensors not compared in full (\(summary.problems.count)):")
                for problem in summary.problems.prefix(10) { lines.append("  \(problem)") }
                if summary.problems.count > 10 {
                    lines.append("  … and \(summary.problems.count - 10) more (see /problems in the report)")
                }
            }
            return lines.joined(separator: "\n")
        }
    }
}

/// Pretty, sorted JSON.
func jsonString<T: Encodable>(_ value: T) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.nonConformingFloatEncodingStrategy = .convertToString(
        positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}
