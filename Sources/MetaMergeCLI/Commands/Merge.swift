import ArgumentParser
import Checkpoints
import Foundation
import Merging
import Statistics

extension MetaMerge {
    struct MergeCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "merge",
            abstract: "Merge models from a MergeKit-style YAML config (MergeKit's methods, and MetaGPT).",
            discussion: """
                CONFIG is a MergeKit YAML file (models, base_model, merge_method, parameters, dtype, out_dtype, \
                tokenizer_source), with merge_method metagpt | metagpt_ties | metagpt_dare and an optional gate: \
                block. Relative model paths are looked up next to CONFIG first, then in the working directory.
                Exit status: 0 merged, 1 the gate failed (nothing written), 2 bad input.
                """)

        @Argument(help: "The merge configuration (YAML).")
        var config: String

        @Argument(help: "The output model directory (must not exist unless --overwrite).")
        var outDir: String?

        @Option(help: "Statistics from `metamerge analyze` for the same models, instead of computing them.")
        var stats: String?

        @Option(
            help:
                ArgumentHelp(
                    "Refuse the merge unless the family meets thresholds: max-cosine=X[,scope=global|layer|tensor]"
                    + "[,max-chord-residual=Y,max-taylor-error=Z,max-additivity-gap=W].")
        )
        var gate: MergeGateArgument?

        @Option(help: "A probe report of these models (metamerge probe -o …) for the gate's linearity thresholds.")
        var probe: String?

        @Flag(help: "Merge even when the gate fails (its verdict still goes into the model card).")
        var force = false

        @Option(
            name: .customLong("out-shard-size"),
            help: "Largest output shard, e.g. 5GB, 500MB, 2B (MergeKit's suffixes).")
        var outShardSize: ShardSizeArgument = "5GB"

        @Option(
            name: .customLong("random-seed"),
            help: "Seed for stochastic methods (DARE, DELLA); results depend only on it.")
        var randomSeed: UInt64?

        @Option(help: "Worker threads (default: all cores).")
        var threads: Int?

        @Flag(
            name: .customLong("dry-run"),
            help: "Print the plan (tensors, parameters, MetaGPT λ, gate, shards) without writing weights.")
        var dryRun = false

        @Flag(help: "Replace OUT_DIR if it is empty or an unchanged earlier merge output (per its manifest).")
        var overwrite = false

        @Flag(
            name: .customLong("allow-non-finite"),
            help: "Write the merge even when a merged tensor holds NaN / ±Inf (refused otherwise).")
        var allowNonFinite = false

        @Flag(help: "No progress output.")
        var quiet = false

        func validate() throws {
            if outDir == nil && !dryRun {
                throw ValidationError("give an output directory (or --dry-run)")
            }
            _ = try outShardSize.validate()
            if let threads { try validateThreads(threads) }
            if let outDir { try validateOutputPath(outDir, what: "OUT_DIR") }
        }

        func run() async throws {
            try await reportingErrors {
                let configuration = try MergeConfiguration.load(contentsOf: URL(fileURLWithPath: config))
                let shardSize = try outShardSize.validate()
                var options = MergeOptions(
                    randomSeed: randomSeed, threads: threads ?? ProcessInfo.processInfo.activeProcessorCount,
                    shardSize: shardSize, gate: try gate?.thresholds(), force: force,
                    statisticsReport: stats.map { URL(fileURLWithPath: $0) },
                    probeReport: probe.map { URL(fileURLWithPath: $0) })
                options.allowNonFinite = allowNonFinite
                let merge = try Merge(configuration: configuration, options: options)
                if let outDir, !dryRun {
                    try ModelWriter.checkDestination(
                        URL(fileURLWithPath: outDir), overwrite: overwrite, inputs: merge.inputPaths)
                }
                let reporter = ProgressReporter(enabled: !quiet)
                let prepared = try merge.prepare(progress: reporter)
                let plan = prepared.plan

                if dryRun {
                    Terminal.out(plan.render(shardSize: shardSize))
                    if let outcome = plan.gate, !outcome.passed, !force { throw ExitCode(1) }
                    return
                }
                for line in MergePlanNotes(plan: plan).lines { Terminal.info(line) }
                if let outcome = plan.gate {
                    let gate = MergePlanNotes.gate(outcome)
                    if outcome.passed { Terminal.info(gate.headline) } else { Terminal.error(gate.headline) }
                    for line in gate.details { Terminal.info(line) }
                    if !outcome.passed {
                        guard force else {
                            Terminal.info(
                                "nothing written; pass --force to merge anyway (the verdict goes into the model card)")
                            throw ExitCode(1)
                        }
                        Terminal.info("--force: merging anyway")
                    }
                }
                let result = try prepared.write(
                    to: URL(fileURLWithPath: outDir!), overwrite: overwrite, progress: reporter)
                for note in result.notes { Terminal.info("note: \(note)") }
                Terminal.out(
                    "wrote \(result.directory.path)\(result.replaced ? " (replacing the earlier merge there)" : ""): "
                        + "\(result.tensorCount) tensors, \(ByteSize(bytes: result.bytes)) in \(result.shards.count) "
                        + "shard(s)"
                )
            }
        }
    }
}
