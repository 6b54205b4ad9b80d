import ArgumentParser
import Evaluation
import Foundation
import Statistics

extension MetaMerge {
    struct Probe: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Run the model along θ0 + α·τ and measure how linear it is (chord residual, Taylor error, R², "
                + "additivity).",
            discussion:
                "Writes the /probe group (docs/hdf5-schema.md) into -o: a new file, or added to an analysis report.")

        @OptionGroup var family: FamilyOptions

        @OptionGroup var prompts: PromptOptions

        @Option(help: "The α grid, start:end:step or a comma list.")
        var alphas: GridArgument = "0:1:0.1"

        @Option(help: "Total scales s of the merged point θ0 + s·Σ λt τt, comma list.")
        var scales: GridArgument = "0.5,1,1.5,2,3"

        @Option(name: .shortAndLong, help: "The HDF5 file to write (or an analysis report to add /probe to).")
        var output: String

        @Flag(help: "Print a JSON summary on stdout instead of tables.")
        var json = false

        func validate() throws {
            try validateOutputPath(output)
            do {
                _ = try alphas.alphas()
            } catch let error as AnalysisError {
                throw ValidationError(error.description)
            }
        }

        func run() async throws {
            try await reportingErrors {
                let probe = ProbeRun(
                    family: try family.load(), source: prompts.source,
                    probe: LinearityProbe(alphas: try alphas.values(), scales: try scales.values()),
                    report: URL(fileURLWithPath: output))
                let progress = Progress("probe", total: 1)
                let result = try probe.run(lambdasFromReport: { Terminal.info("MetaGPT λ read from \(output)") }) {
                    done, total in progress.advance(by: 1 / Double(total), item: "\(done)/\(total) forward batches")
                }
                progress.finish()
                if json {
                    Terminal.out(try jsonString(ProbeSummaryJSON(result)))
                } else {
                    Terminal.out(ProbeTable(result: result).text)
                    Terminal.out("report: \(output)")
                }
            }
        }
    }
}
