import ArgumentParser
import Checkpoints
import Foundation
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
                let statistics = try StatisticsPass.runShowingProgress(family, threads: threads)
                try AnalysisReport.write(statistics, to: URL(fileURLWithPath: output))
                let summary = StatisticsSummary(statistics)
                if json {
                    Terminal.out(try jsonString(summary))
                } else {
                    Terminal.out(StatisticsTable(summary: summary).text)
                    Terminal.out("report: \(output)")
                }
            }
        }
    }
}
