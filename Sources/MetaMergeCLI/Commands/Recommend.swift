import ArgumentParser
import Checkpoints
import Evaluation
import Foundation
import Statistics

extension MetaMerge {
    struct Recommend: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "A merge point (total scale s and weighting): data-free from the statistics and the probe, or "
                + "label-free from unlabeled prompts (--prompts).",
            discussion: """
                REPORT is an analysis report (metamerge analyze); the probe is read from PROBE, or from REPORT when \
                it holds /probe. The data-free rule (Sources/Evaluation/Evaluation/Recommendation.swift and the \
                README): the linear target c* = G⁻¹·diag(G), s* = Σc*; MetaGPT's λ unless a task gets less than 60 % \
                of the uniform share (then uniform, with a warning); s ≤ 0.1/κ with κ = 4Σu²ρ + 2Σu_iu_jγ_ij from the \
                medians over the probe's prompts of the chord residuals ρ and the pairs' additivity gaps γ; the \
                expected shortfall is the probe's median merged-point gap at s, and above 0.25 recommend abstains \
                (exit 0) and says how many labelled items `metamerge sweep` needs.

                With --prompts NAME=FILE.jsonl (one per task model; the "prompt" of each line, a task file works as \
                is) the point is chosen label-free (Sources/Evaluation/LabelFree/): each task model's greedy \
                continuations of its prompts are the teachers; candidate points (uniform, metagpt and linear \
                weightings × --scales, then a finer grid around the leading pick) are scored by agreement with the \
                teachers, KL, entropy and stability across scales, and the agreement pick is recommended unless its \
                expected shortfall exceeds 0.02 — then recommend says it cannot (exit 0). The family is --config or \
                --base/--model, else the models REPORT records (checked by weight fingerprints).
                """)

        @Argument(help: "An analysis report (metamerge analyze -o …).")
        var report: String

        @Argument(help: "A probe report of the same models (default: REPORT's /probe, when it has one).")
        var probe: String?

        @Option(
            name: .customLong("prompts"),
            help: "Unlabeled prompts of a task model, NAME=FILE.jsonl (repeat for each task model): label-free mode.")
        var prompts: [String] = []

        @Option(
            name: .customLong("config"),
            help: "With --prompts: a MergeKit-style YAML config naming the family (default: REPORT's models).")
        var config: String?

        @Option(
            name: .customLong("base"),
            help: "With --prompts: the base model θ0 (a directory or a cached hub id), with --model.")
        var base: String?

        @Option(name: .customLong("model"), help: "With --prompts: a fine-tuned model, NAME=DIR (repeat for each).")
        var models: [String] = []

        @Option(
            name: .customLong("scales"),
            help: "With --prompts: the coarse grid of total scales s, start:end:step or a comma list.")
        var scales: GridArgument = "0.5:3:0.5"

        @Option(
            name: .customLong("max-new-tokens"),
            help: "With --prompts: the most tokens of each teacher continuation (it stops earlier at EOS).")
        var maxNewTokens: Int = 16

        @Flag(help: "Print JSON on stdout.")
        var json = false

        @Flag(help: "No progress output.")
        var quiet = false

        func validate() throws {
            if prompts.isEmpty {
                guard config == nil, base == nil, models.isEmpty else {
                    throw ValidationError("--config, --base and --model name the family of --prompts; give --prompts")
                }
            }
            if config != nil, base != nil || !models.isEmpty {
                throw ValidationError("give either --config or --base/--model, not both")
            }
            if base != nil, models.isEmpty {
                throw ValidationError("give at least one --model NAME=DIR besides --base")
            }
            if base == nil, !models.isEmpty { throw ValidationError("--model needs --base DIR") }
        }

        func run() async throws {
            try await reportingErrors {
                let reportURL = URL(fileURLWithPath: report)
                let statistics = try AnalysisReport.read(from: reportURL)
                let curve =
                    if let probe {
                        try ProbeCurve.read(from: URL(fileURLWithPath: probe))
                    } else {
                        try ProbeCurve.readIfPresent(from: reportURL)
                    }
                let r = try Recommendation.checked(statistics: statistics, probe: curve)
                guard !prompts.isEmpty else {
                    if json {
                        Terminal.out(try jsonString(RecommendJSON(r)))
                        return
                    }
                    Terminal.out(RecommendationText(recommendation: r).text)
                    return
                }
                let family: ModelFamily
                if config != nil || base != nil {
                    family = try FamilyOptions.load(config: config, base: base, models: models)
                } else {
                    family = try LabelFreeRun.recordedFamily(statistics, report: reportURL)
                }
                let run = LabelFreeRun(
                    family: family, statistics: statistics, dataFree: r, prompts: prompts,
                    scales: try scales.values(), maxNewTokens: maxNewTokens)
                var progress: Progress?
                var phase = ""
                let result = try run.run(info: { message in
                    progress?.finish()
                    progress = nil
                    if !quiet { Terminal.info(message) }
                }) { name, done, total in
                    if name != phase {
                        progress?.finish()
                        phase = name
                        progress = Progress(name, total: 1, enabled: !quiet)
                    }
                    progress?.advance(by: 1 / Double(max(total, 1)), item: "\(done)/\(total)")
                }
                progress?.finish()
                if json {
                    Terminal.out(try jsonString(LabelFreeJSON(result, dataFree: r)))
                } else {
                    Terminal.out(LabelFreeText(result: result, dataFree: r).text)
                }
            }
        }
    }
}
