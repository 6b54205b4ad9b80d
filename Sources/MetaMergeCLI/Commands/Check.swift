import ArgumentParser
import Foundation
import Statistics

extension MetaMerge {
    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "The gate: exit 0 when the family meets the thresholds, 1 with the violations when not, 2 on bad input."
        )

        @Argument(help: "The analysis report (metamerge analyze -o …), then optionally a probe report.")
        var reports: [String]

        @OptionGroup var gate: GateThresholdOptions

        func validate() throws {
            guard (1...2).contains(reports.count) else {
                throw ValidationError("give the analysis report, and optionally a probe report")
            }
            guard !gate.isEmpty else {
                throw ValidationError("give at least one threshold, e.g. --max-cosine 0.1")
            }
        }

        func run() async throws {
            var verdict: GateVerdict?
            try await reportingErrors {
                let statistics = try AnalysisReport.read(from: URL(fileURLWithPath: reports[0]))
                let linearity =
                    try reports.count > 1 ? ProbeReport.readSummary(from: URL(fileURLWithPath: reports[1])) : nil
                verdict = try Gate.evaluate(gate.thresholds, statistics: statistics, linearity: linearity)
            }
            guard let verdict else { return }
            for finding in verdict.findings { Terminal.out(finding) }
            if verdict.passed {
                Terminal.out("gate: pass")
                return
            }
            Terminal.out("gate: FAIL — \(verdict.violations.count) violation(s):")
            for violation in verdict.violations.prefix(50) { Terminal.out("  \(violation)") }
            if verdict.violations.count > 50 { Terminal.out("  … and \(verdict.violations.count - 50) more") }
            throw ExitCode(1)
        }
    }
}
