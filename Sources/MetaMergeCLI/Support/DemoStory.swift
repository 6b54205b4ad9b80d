import Checkpoints
import Evaluation
import Foundation
import Merging
import Statistics

/// The demo's story on one model family: inspect, statistics, the orthogonality gate, the probe, merges, the sweep
/// with a data-free pick, figures — each through the library call the matching command makes.
struct DemoStory {
    let maxCosine: Double
    let maxChordResidual: Double
    let maxAdditivityGap: Double?
    let notebooksPython: String?

    /// The whole story on one family, into `output`: inspect, statistics, gate, probe, merges, figures.
    func tell(_ familyURL: URL, output: URL, figures renderFigures: Bool) throws -> DemoOutcome {
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
            try DemoFiles.checkNotebooksDirectory(output.appendingPathComponent("notebooks"))
        }

        Terminal.out("== 1. The family: \(familyURL.path)")
        for checkpoint in [spec.base] + spec.tasks.map(\.directory) {
            let summary = CheckpointSummary(try Checkpoint(directory: checkpoint))
            Terminal.out(CheckpointText(summary: summary, tensors: false).text)
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

        var sweepSummary: DemoOutcome.SweepSummary?
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
            let picked = String(format: "%@ s=%.2f", recommendation.weightingName, recommendation.scale)
            Terminal.out(
                recommendation.abstains
                    ? String(
                        format:
                            "data-free recommendation (metamerge recommend): none (expected shortfall %.2f > %.2f; "
                            + "its rule's point %@); sweep with %d labelled items per task",
                        recommendation.expectedShortfall ?? .nan, Recommendation.abstainAbove, picked,
                        Recommendation.labelledItemsNeeded)
                    : String(
                        format: "data-free recommendation (metamerge recommend): %@ × s = %.2f",
                        recommendation.weightingName, recommendation.scale))
            for line in recommendation.warnings { Terminal.out("  warning: \(line)") }
            if let line = try Self.labelFreeLine(
                family: modelFamily, statistics: statistics, dataFree: recommendation,
                taskFiles: taskFiles.map { Self.unlabeledPrompts(of: $0) })
            {
                Terminal.out(line)
            }
            sweepSummary = DemoOutcome.SweepSummary(
                best: String(
                    format: "%@ s=%g %.1f%%", result.grid.weightings[best.0].name, result.grid.scales[best.1],
                    100 * result.meanExactMatch(best.0, best.1)),
                metagptAtOne: metagpt.flatMap { m in one.map { 100 * result.meanExactMatch(m, $0) } },
                recommended: recommendation.abstains ? "abstains (\(picked))" : picked)
        }

        if renderFigures {
            Terminal.out("\n== 7. The figures (notebooks-export/, run headlessly)")
            let figures = output.appendingPathComponent("notebooks")
            if let python = notebooksPython {
                try DemoFiles.exportNotebooks(python: python, report: reportURL, output: figures, maxCosine: maxCosine)
                try Data("written by metamerge demo's notebook export; a rerun replaces it\n".utf8)
                    .write(to: figures.appendingPathComponent(DemoFiles.marker))
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
        return DemoOutcome(
            name: familyURL.lastPathComponent, maxCosine: summary.maxAbsCosine,
            chordResidual: maxima(probe.summary.chordResidual), additivityGap: maxima(probe.summary.additivityGap),
            passed: passed, report: reportURL, sweep: sweepSummary)
    }

    /// `recommend --prompts` on the family's unlabeled prompts (continuations of at most 8 tokens), in
    /// one line: the recommended point or the abstention, with the expected shortfall; nil without a task file named
    /// after every task model.
    static func labelFreeLine(
        family: ModelFamily, statistics: TaskVectorStatistics, dataFree: Recommendation, taskFiles: [URL]
    ) throws -> String? {
        let files = family.taskNames.compactMap { name in
            taskFiles.first { $0.deletingPathExtension().lastPathComponent == name }
        }
        guard files.count == family.taskNames.count else { return nil }
        let prompts = zip(family.taskNames, files).map { "\($0)=\($1.path)" }
        let result = try LabelFreeRun(
            family: family, statistics: statistics, dataFree: dataFree, prompts: prompts,
            scales: [0.5, 1, 1.5, 2, 2.5, 3], maxNewTokens: 8
        ).run()
        let selection = result.selection
        let shortfall = String(format: "expected shortfall %.3f", selection.expectedShortfall)
        guard let c = selection.recommended else {
            return "label-free (metamerge recommend --prompts): no reliable point (\(shortfall) > "
                + "\(LabelFreeSelection.abstainAbove)): run sweep with \(LabelFreeSelection.labelledItemsNeeded) "
                + "labelled items per task"
        }
        return String(
            format: "label-free recommendation (metamerge recommend --prompts): %@ × s = %.2f (%@)", c.weighting,
            c.scale, shortfall)
    }

    /// The family's unlabeled prompts of a task (`unlabeled/NAME.jsonl`, disjoint from the labelled items) when it
    /// has them, else the task file `tasks/NAME.jsonl` itself (only its prompts are read).
    static func unlabeledPrompts(of taskFile: URL) -> URL {
        let unlabeled = taskFile.deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("unlabeled/\(taskFile.lastPathComponent)")
        return FileManager.default.fileExists(atPath: unlabeled.path) ? unlabeled : taskFile
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
}
