import ArgumentParser
import Evaluation
import Foundation
import Statistics

extension MetaMerge {
    struct Recommend: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "A data-free merge point (total scale s and weighting) from the statistics and the probe, with the "
                + "reason.",
            discussion: """
                REPORT is an analysis report (metamerge analyze); the probe's merged-point gap curve is read from \
                PROBE, \
                or from REPORT when it holds /probe. The rule (docs in \
                Sources/Evaluation/Evaluation/Recommendation.swift \
                and the README): the linear target c* = G⁻¹·diag(G), s* = Σc*; MetaGPT's λ unless a task gets less \
                than \
                60 % of the uniform share (then uniform, with a warning); s capped where the second-order part of a \
                coefficient (from the probe's chord residuals) would exceed 0.25. \
                Check it with `metamerge sweep`.
                """)

        @Argument(help: "An analysis report (metamerge analyze -o …).")
        var report: String

        @Argument(help: "A probe report of the same models (default: REPORT's /probe, when it has one).")
        var probe: String?

        @Flag(help: "Print JSON on stdout.")
        var json = false

        func run() async throws {
            try await reportingErrors {
                let statistics = try AnalysisReport.read(from: URL(fileURLWithPath: report))
                let curve =
                    if let probe {
                        try ProbeCurve.read(from: URL(fileURLWithPath: probe))
                    } else {
                        try ProbeCurve.readIfPresent(from: URL(fileURLWithPath: report))
                    }
                let r = try Recommendation.checked(statistics: statistics, probe: curve)
                if json {
                    Terminal.out(try jsonString(RecommendJSON(r)))
                    return
                }
                Terminal.out(RecommendationText(recommendation: r).text)
            }
        }
    }
}
