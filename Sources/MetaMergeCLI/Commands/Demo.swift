import Analysis
import ArgumentParser
import Checkpoints
import Foundation

extension MetaMerge {
    struct Demo: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The whole story on the bundled model family: inspect, analyze, check the gate, and say what was found.")

        @Argument(help: "Where to write the report and results (default: demo-out).")
        var outputDirectory: String = "demo-out"

        @Option(help: "The model family folder: a base/ directory and one directory per task model.")
        var family: String?

        @Option(help: "The orthogonality threshold the gate uses.")
        var maxCosine: Double = 0.1

        func run() async throws {
            try await reportingErrors {
                let familyURL = try Self.locateFamily(family)
                let output = URL(fileURLWithPath: outputDirectory)
                try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
                let taskDirectories = try FileManager.default.contentsOfDirectory(atPath: familyURL.path)
                    .filter { $0 != "base" && FileManager.default.fileExists(atPath: familyURL.appendingPathComponent("\($0)/config.json").path) }
                    .sorted()
                let spec = FamilySpec(
                    base: familyURL.appendingPathComponent("base"),
                    tasks: taskDirectories.map { ($0, familyURL.appendingPathComponent($0)) })

                Terminal.out("== 1. The bundled family: \(familyURL.path)")
                for checkpoint in [spec.base] + spec.tasks.map(\.directory) {
                    Terminal.out(Inspect.render(CheckpointSummary(try Checkpoint(directory: checkpoint)), tensors: false))
                }

                Terminal.out("\n== 2. Task-vector statistics (one pass over the weights)")
                let modelFamily = try spec.open()
                let statistics = try Analyze.computeStatistics(modelFamily, threads: ProcessInfo.processInfo.activeProcessorCount)
                let reportURL = output.appendingPathComponent("report.h5")
                try AnalysisReport.write(statistics, to: reportURL)
                let summary = StatisticsSummary(statistics)
                Terminal.out(Analyze.render(summary))

                Terminal.out("\n== 3. The orthogonality gate (max |cos| ≤ \(maxCosine), global)")
                let verdict = try Gate.evaluate(GateThresholds(maxCosine: maxCosine), statistics: statistics)
                let worst = summary.maxAbsCosine.map { String(format: "%.3f", $0) } ?? "undefined"
                if verdict.passed {
                    Terminal.out("task vectors are nearly orthogonal: max |cos| \(worst) ≤ \(String(format: "%.2f", maxCosine))")
                } else {
                    Terminal.out("task vectors are NOT orthogonal enough: max |cos| \(worst) > \(String(format: "%.2f", maxCosine))")
                    for violation in verdict.violations { Terminal.out("  \(violation)") }
                }
                let lambdas = zip(summary.tasks, summary.metagptLambda).map { String(format: "%@ %.3f", $0, $1) }
                Terminal.out("MetaGPT's coefficients (λt = ‖τt‖² / Σk ‖τk‖²): " + lambdas.joined(separator: ", "))

                Terminal.out("\nreport: \(reportURL.path)")
            }
        }

        /// The family folder: the option, else `examples/tiny-family` under the working directory or beside the
        /// executable's package checkout.
        static func locateFamily(_ given: String?) throws -> URL {
            if let given { return URL(fileURLWithPath: given) }
            var candidates = [URL(fileURLWithPath: "examples/tiny-family")]
            var folder = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
            for _ in 0..<5 {
                candidates.append(folder.appendingPathComponent("examples/tiny-family"))
                folder = folder.deletingLastPathComponent()
            }
            guard let found = candidates.first(where: { FileManager.default.fileExists(atPath: $0.appendingPathComponent("base").path) }) else {
                throw AnalysisError.badArgument("cannot find the bundled family examples/tiny-family; pass --family DIR")
            }
            return found.standardizedFileURL
        }
    }
}
