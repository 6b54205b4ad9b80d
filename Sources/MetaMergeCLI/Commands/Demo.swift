import ArgumentParser
import Checkpoints
import Evaluation
import Foundation
import Merging
import SafeTensors
import Statistics

extension MetaMerge {
    struct Demo: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "The whole story on the bundled model families: inspect, analyze, probe, gate, merge, figures — in "
                + "plain words.",
            discussion: """
                Without --family, runs on examples/tiny-family (whose task vectors break MetaGPT's assumptions) into \
                OUT_DIR, then on examples/gentle-family (where they hold) into OUT_DIR/gentle, and sets the two side \
                by side.
                """)

        @Argument(help: "Where to write the report and results (default: demo-out).")
        var outputDirectory: String = "demo-out"

        @Option(help: "The model family folder: a base/ directory and one directory per task model.")
        var family: String?

        @Option(help: "The orthogonality threshold the gate uses.")
        var maxCosine: Double = 0.1

        @Option(help: "The chord-residual threshold the gate uses.")
        var maxChordResidual: Double = 0.1

        @Option(
            help:
                ArgumentHelp(
                    "An additivity-gap threshold for the gate too (by default the gap is reported, not gated: the "
                    + "paper's assumptions are orthogonality and linearity).")
        )
        var maxAdditivityGap: Double?

        @Option(help: "A Python with notebooks-export/requirements.txt installed: the demo then renders the figures.")
        var notebooksPython: String?

        func run() async throws {
            try await reportingErrors {
                let output = URL(fileURLWithPath: outputDirectory)
                if let family {
                    let familyURL = URL(fileURLWithPath: family)
                    try Self.prepareOutputDirectory(output, family: familyURL)
                    _ = try story(familyURL, output: output, figures: true)
                    return
                }
                // The two bundled families: one that breaks MetaGPT's assumptions, one where they hold.
                let tiny = try Self.locateFamily(nil)
                let gentle = tiny.deletingLastPathComponent().appendingPathComponent("gentle-family")
                try Self.prepareOutputDirectory(output, family: tiny.deletingLastPathComponent())
                var outcomes = [try story(tiny, output: output, figures: true)]
                if FileManager.default.fileExists(atPath: gentle.appendingPathComponent("base").path) {
                    Terminal.out(
                        "\n\n######## The second bundled family: gentle fine-tunes of a base that half-knows the tasks")
                    let gentleOutput = output.appendingPathComponent("gentle")
                    try FileManager.default.createDirectory(at: gentleOutput, withIntermediateDirectories: true)
                    outcomes.append(try story(gentle, output: gentleOutput, figures: false))
                }
                if outcomes.count > 1 { Self.compare(outcomes) }
            }
        }

        /// What the demo found on one family.
        struct Outcome {
            let name: String
            let maxCosine: Double?
            let chordResidual: Double
            let additivityGap: Double
            let passed: Bool
            let report: URL
            let sweep: SweepSummary?
        }

        /// The two families side by side: the same thresholds, opposite verdicts.
        static func compare(_ outcomes: [Outcome]) {
            Terminal.out("\n\n== Two families, one gate")
            let width = max(outcomes.map(\.name.count).max() ?? 0, 6)
            func pad(_ text: String) -> String { text.padding(toLength: width, withPad: " ", startingAt: 0) }
            Terminal.out(pad("family") + "  max |cos|  chord residual  additivity gap  gate")
            for outcome in outcomes {
                let cosine = outcome.maxCosine.map { String(format: "%9.3f", $0) } ?? "    undef"
                Terminal.out(
                    pad(outcome.name) + "  \(cosine)  "
                        + String(format: "%14.3f  %14.3f  ", outcome.chordResidual, outcome.additivityGap)
                        + (outcome.passed ? "passes" : "FAILS"))
            }
            if outcomes.allSatisfy({ $0.sweep != nil }) {
                Terminal.out("")
                Terminal.out(pad("family") + "  best point with task data   MetaGPT s=1   data-free recommendation")
                for outcome in outcomes {
                    let sweep = outcome.sweep!
                    Terminal.out(
                        pad(outcome.name) + "  " + sweep.best.padding(toLength: 26, withPad: " ", startingAt: 0)
                            + String(format: "  %10.1f%%  ", sweep.metagptAtOne ?? .nan) + sweep.recommended)
                }
            }
            Terminal.out(
                "MetaGPT's closed-form λ rests on these assumptions: trust it where the gate passes; elsewhere measure "
                    + "merges with task data (metamerge eval / sweep) before choosing coefficients.")
        }

        /// The whole story on one family, into `output`: inspect, statistics, gate, probe, merges, figures.
        func story(_ familyURL: URL, output: URL, figures renderFigures: Bool) throws -> Outcome {
            let taskDirectories = try FileManager.default.contentsOfDirectory(atPath: familyURL.path)
                .filter {
                    $0 != "base"
                        && FileManager.default.fileExists(
                            atPath: familyURL.appendingPathComponent("\($0)/config.json").path)
                }
                .sorted()
            let spec = FamilySpec(
                base: familyURL.appendingPathComponent("base"),
                tasks: taskDirectories.map { ($0, familyURL.appendingPathComponent($0)) })
            // A file of the user's named report.h5 in a demo directory is refused, not replaced (merged-* are
            // replaced only when unchanged since the demo wrote them: the merge manifest).
            try AnalysisReport.checkDestination(output.appendingPathComponent("report.h5"), inputs: [familyURL])
            if renderFigures, notebooksPython != nil {
                try Self.checkNotebooksDirectory(output.appendingPathComponent("notebooks"))
            }

            Terminal.out("== 1. The family: \(familyURL.path)")
            for checkpoint in [spec.base] + spec.tasks.map(\.directory) {
                Terminal.out(CheckpointText(summary: CheckpointSummary(try Checkpoint(directory: checkpoint)), tensors: false).text)
            }

            Terminal.out("\n== 2. Task-vector statistics (one pass over the weights)")
            let modelFamily = try spec.open()
            let statistics = try StatisticsPass.runShowingProgress(
                modelFamily, threads: ProcessInfo.processInfo.activeProcessorCount)
            let reportURL = output.appendingPathComponent("report.h5")
            try AnalysisReport.write(statistics, to: reportURL)
            let summary = StatisticsSummary(statistics)
            Terminal.out(StatisticsTable(summary: summary).text)

            Terminal.out("\n== 3. The orthogonality gate (max |cos| ≤ \(maxCosine), global)")
            let verdict = try Gate.evaluate(GateThresholds(maxCosine: maxCosine), statistics: statistics)
            let worst = summary.maxAbsCosine.map { String(format: "%.3f", $0) } ?? "undefined"
            if verdict.passed {
                Terminal.out(
                    "task vectors are nearly orthogonal: max |cos| \(worst) ≤ \(String(format: "%.2f", maxCosine))")
            } else {
                Terminal.out(
                    "task vectors are NOT orthogonal enough: max |cos| \(worst) > \(String(format: "%.2f", maxCosine))")
                for violation in verdict.violations { Terminal.out("  \(violation)") }
            }
            let lambdas = zip(summary.tasks, summary.metagptLambda).map { String(format: "%@ %.3f", $0, $1) }
            Terminal.out("MetaGPT's coefficients (λt = ‖τt‖² / Σk ‖τk‖²): " + lambdas.joined(separator: ", "))

            Terminal.out("\n== 4. The NTK-linearity probe (the model run along θ0 + α·τt)")
            let progress = Progress("probe", total: 1)
            let probe = try ProbeRun(
                family: modelFamily, source: Self.promptSource(family: familyURL), probe: LinearityProbe(),
                report: reportURL
            ).run(progress: { done, total in
                progress.advance(by: 1 / Double(total), item: "\(done)/\(total) forward batches")
            })
            progress.finish()
            Terminal.out(ProbeTable(result: probe).text)
            let linearity = try Gate.evaluate(
                GateThresholds(maxChordResidual: maxChordResidual, maxAdditivityGap: maxAdditivityGap),
                statistics: statistics, linearity: probe.summary)
            for (task, value) in probe.summary.chordResidual {
                Terminal.out(
                    value <= maxChordResidual
                        ? String(
                            format: "linearity holds for '%@': chord residual %.2f ≤ %.2f", task, value,
                            maxChordResidual)
                        : String(
                            format: "linearity does not hold for '%@': chord residual %.2f > %.2f", task, value,
                            maxChordResidual))
            }
            for (pair, value) in probe.summary.additivityGap {
                if let limit = maxAdditivityGap {
                    Terminal.out(
                        value <= limit
                            ? String(
                                format: "task vectors add up for %@: additivity gap %.2f ≤ %.2f", pair, value, limit)
                            : String(
                                format: "task vectors do not add up for %@: additivity gap %.2f > %.2f", pair, value,
                                limit))
                } else {
                    Terminal.out(String(format: "additivity gap of %@: %.2f (reported, not gated)", pair, value))
                }
            }
            let passed = verdict.passed && linearity.passed
            Terminal.out(
                passed
                    ? "\nThe gate passes: MetaGPT's assumptions hold on this family within the thresholds."
                    : "\nThe gate fails: MetaGPT's assumptions do not hold on this family within the thresholds "
                        + "(`metamerge merge --gate` would refuse without --force).")

            Terminal.out("\n== 5. Merging: MetaGPT, and task arithmetic for comparison")
            var merged: [String] = []
            for (name, method) in [("metagpt", MergeMethod.metagpt), ("task_arithmetic", .taskArithmetic)] {
                let configuration = try MergeConfiguration(
                    method: method, baseModel: spec.base.path,
                    models: spec.tasks.map { ($0.directory.path, ["weight": 0.3]) }, dtype: "float32",
                    gate: method == .metagpt ? GateThresholds(maxCosine: maxCosine) : nil, directory: output)
                let merge = try Merge(
                    configuration: configuration, options: MergeOptions(force: true, statisticsReport: reportURL))
                let prepared = try merge.prepare()
                if let gate = prepared.plan.gate {
                    Terminal.out(
                        "\(name): the gate (\(gate.thresholds.summary)) \(gate.passed ? "passes" : "fails"); "
                            + (gate.passed
                                ? "merging"
                                : "merging anyway for the demo (--force); the model card records the verdict"))
                }
                if let lambdas = prepared.plan.globalLambdas {
                    let tasks = prepared.plan.taskNames.map { URL(fileURLWithPath: $0).lastPathComponent }
                    Terminal.out(
                        "\(name): λ "
                            + zip(tasks, lambdas).map { String(format: "%@ %.3f", $0, $1) }.joined(separator: ", "))
                }
                let result = try prepared.write(to: output.appendingPathComponent("merged-\(name)"), overwrite: true)
                Terminal.out(
                    "\(name): wrote \(result.directory.path) (\(result.tensorCount) tensors, "
                        + "\(ByteSize(bytes: result.bytes)))"
                )
                merged.append(result.directory.path)
            }
            Terminal.out(
                "task arithmetic uses MergeKit's fixed weight 0.3 per task; MetaGPT's λ sum to 1 (see the s-curve in "
                    + "the figures)"
            )

            var sweepSummary: SweepSummary?
            let taskFiles = ["add", "rev", "sort"].map { familyURL.appendingPathComponent("tasks/\($0).jsonl") }
            if taskFiles.allSatisfy({ FileManager.default.fileExists(atPath: $0.path) }) {
                Terminal.out(
                    "\n== 6. What the weightings score (metamerge sweep, with the held-out tasks) and a data-free pick")
                var sweep = SweepRun(
                    family: modelFamily, tasks: zip(["add", "rev", "sort"], taskFiles).map { "\($0)=\($1.path)" },
                    scales: [0, 0.5, 1, 1.5, 2, 3], weights: "uniform,metagpt", report: reportURL)
                sweep.lambdas = statistics.metagptLambdas
                let result = try sweep.run()
                Terminal.out("Mean exact match (%) over the three tasks at θ0 + s·Σ wt τt (s = 0 is the base):")
                Terminal.out(SweepTable(result: result).meanExactMatch)
                let best = result.best(task: nil)
                let metagpt = result.grid.weightings.firstIndex { $0.name == "metagpt" }
                let one = result.grid.scales.firstIndex(of: 1)
                let recommendation = Recommendation.make(
                    statistics: statistics, probe: try ProbeCurve.read(from: reportURL))
                Terminal.out(
                    String(
                        format: "best point with task data: %@ × s = %g (%.1f%%); MetaGPT as published (s = 1): %.1f%%",
                        result.grid.weightings[best.0].name, result.grid.scales[best.1],
                        100 * result.meanExactMatch(best.0, best.1),
                        metagpt.flatMap { m in one.map { 100 * result.meanExactMatch(m, $0) } } ?? .nan))
                Terminal.out(
                    String(
                        format: "data-free recommendation (metamerge recommend): %@ × s = %.2f",
                        recommendation.weightingName, recommendation.scale))
                for line in recommendation.warnings { Terminal.out("  warning: \(line)") }
                sweepSummary = SweepSummary(
                    best: String(
                        format: "%@ s=%g %.1f%%", result.grid.weightings[best.0].name, result.grid.scales[best.1],
                        100 * result.meanExactMatch(best.0, best.1)),
                    metagptAtOne: metagpt.flatMap { m in one.map { 100 * result.meanExactMatch(m, $0) } },
                    recommended: String(format: "%@ s=%.2f", recommendation.weightingName, recommendation.scale))
            }

            if renderFigures {
                Terminal.out("\n== 7. The figures (notebooks-export/, run headlessly)")
                let figures = output.appendingPathComponent("notebooks")
                if let python = notebooksPython {
                    try Self.exportNotebooks(python: python, report: reportURL, output: figures, maxCosine: maxCosine)
                    try Data("written by metamerge demo's notebook export; a rerun replaces it\n".utf8)
                        .write(to: figures.appendingPathComponent(Self.marker))
                    Terminal.out(
                        "figures: \(figures.appendingPathComponent("figures").path)  (HTML: "
                            + "\(figures.appendingPathComponent("index.html").path))"
                    )
                } else {
                    Terminal.out(
                        "not exported here: run `make notebooks REPORT=\(reportURL.path) OUT=\(figures.path)` (make "
                            + "demo does)"
                    )
                }
            }

            Terminal.out("\nreport: \(reportURL.path)")
            for directory in merged { Terminal.out("merged model: \(directory)") }
            let maxima = { (values: [(String, Double)]) in values.map(\.1).max() ?? .nan }
            return Outcome(
                name: familyURL.lastPathComponent, maxCosine: summary.maxAbsCosine,
                chordResidual: maxima(probe.summary.chordResidual), additivityGap: maxima(probe.summary.additivityGap),
                passed: passed, report: reportURL, sweep: sweepSummary)
        }

        /// The sweep's findings on one family, for the side-by-side table.
        struct SweepSummary {
            let best: String
            let metagptAtOne: Double?
            let recommended: String
        }

        /// The name of the file that marks a directory as the demo's own: only such a directory, an empty one or a
        /// new one is written into.
        static let marker = ".metamerge-demo"

        /// Creates `output` (marked as the demo's), or accepts an existing one that is empty or marked; refuses any
        /// other existing path and one that overlaps the family, so a rerun never replaces a user's files.
        static func prepareOutputDirectory(_ output: URL, family: URL) throws {
            try validateOutputPath(output.path)
            try OutputPath.refuseOverlap(output, inputs: [family], what: "the demo's output directory")
            let manager = FileManager.default
            var isDirectory: ObjCBool = false
            if manager.fileExists(atPath: output.path, isDirectory: &isDirectory) {
                guard isDirectory.boolValue else {
                    throw CheckpointError(
                        .unsafePath, url: output, "exists and is not a directory; the demo needs a directory")
                }
                let entries = try manager.contentsOfDirectory(atPath: output.path)
                guard entries.isEmpty || entries.contains(marker) else {
                    throw CheckpointError(
                        .unsafePath, url: output,
                        "is a non-empty directory the demo did not make; give a new or empty directory")
                }
            } else {
                do {
                    try manager.createDirectory(at: output, withIntermediateDirectories: true)
                } catch {
                    throw CheckpointError(
                        .writeFailed, url: output,
                        "cannot create the directory: \(FileErrorReason.reason(error, url: output))", cause: error)
                }
            }
            try Data("written by metamerge demo; a rerun replaces what it wrote here\n".utf8)
                .write(to: output.appendingPathComponent(marker))
        }

        /// Refuses the demo's `notebooks/` directory unless it is new or an earlier export made it (it holds
        /// ``marker``): the export replaces the files it writes there.
        static func checkNotebooksDirectory(_ url: URL) throws {
            guard FileManager.default.fileExists(atPath: url.path) else { return }
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
            guard entries.contains(marker) else {
                throw CheckpointError(
                    .unsafePath, url: url,
                    "exists and the demo's notebook export did not make it (no \(marker) inside); it would replace "
                        + "files there — move it or give another demo directory")
            }
        }

        /// Runs `notebooks-export/export.py` (found beside the family's repository checkout) with `python`.
        static func exportNotebooks(python: String, report: URL, output: URL, maxCosine: Double) throws {
            let family = try locateFamily(nil)
            let script = family.deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("notebooks-export/export.py")
            guard FileManager.default.fileExists(atPath: script.path) else {
                throw AnalysisError.badArgument("cannot find notebooks-export/export.py next to \(family.path)")
            }
            let process = Process()
            process.executableURL = URL(fileURLWithPath: python)
            process.arguments = [
                script.path, "--report", report.path, "--out", output.path, "--max-cosine", String(maxCosine),
            ]
            try process.run()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else {
                throw AnalysisError.badArgument(
                    "exporting the notebooks failed (exit \(process.terminationStatus)); see above")
            }
        }

        /// The family's `prompts.txt` (one text prompt per line, encoded with `<bos>` in front), or eight seeded
        /// random prompts when the family has none.
        static func promptSource(family: URL) -> PromptSource {
            let file = family.appendingPathComponent("prompts.txt")
            guard FileManager.default.fileExists(atPath: file.path) else {
                return .random(count: 8, length: 16, seed: 0)
            }
            return .text(file, prefix: "<bos>")
        }

        /// The family folder: the option, else `examples/tiny-family` under the working directory or beside the
        /// executable's package checkout.
        static func locateFamily(_ given: String?) throws -> URL {
            if let given { return URL(fileURLWithPath: given) }
            var candidates = [URL(fileURLWithPath: "examples/tiny-family")]
            var folder = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
                .deletingLastPathComponent()
            for _ in 0..<5 {
                candidates.append(folder.appendingPathComponent("examples/tiny-family"))
                folder = folder.deletingLastPathComponent()
            }
            guard
                let found = candidates.first(where: {
                    FileManager.default.fileExists(atPath: $0.appendingPathComponent("base").path)
                })
            else {
                throw AnalysisError.badArgument(
                    "cannot find the bundled family examples/tiny-family; pass --family DIR")
            }
            return found.standardizedFileURL
        }
    }
}
