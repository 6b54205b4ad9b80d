import ArgumentParser
import Foundation

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
                let story = DemoStory(
                    maxCosine: maxCosine, maxChordResidual: maxChordResidual, maxAdditivityGap: maxAdditivityGap,
                    notebooksPython: notebooksPython)
                let output = URL(fileURLWithPath: outputDirectory)
                if let family {
                    let familyURL = URL(fileURLWithPath: family)
                    try DemoFiles.prepareOutputDirectory(output, family: familyURL)
                    _ = try story.tell(familyURL, output: output, figures: true)
                    return
                }
                // The two bundled families: one that breaks MetaGPT's assumptions, one where they hold.
                let tiny = try DemoFiles.locateFamily(nil)
                let gentle = tiny.deletingLastPathComponent().appendingPathComponent("gentle-family")
                try DemoFiles.prepareOutputDirectory(output, family: tiny.deletingLastPathComponent())
                var outcomes = [try story.tell(tiny, output: output, figures: true)]
                if FileManager.default.fileExists(atPath: gentle.appendingPathComponent("base").path) {
                    Terminal.out(
                        "\n\n######## The second bundled family: gentle fine-tunes of a base that half-knows the tasks")
                    let gentleOutput = output.appendingPathComponent("gentle")
                    try FileManager.default.createDirectory(at: gentleOutput, withIntermediateDirectories: true)
                    outcomes.append(try story.tell(gentle, output: gentleOutput, figures: false))
                }
                if outcomes.count > 1 { Terminal.out(DemoComparison(outcomes: outcomes).text) }
            }
        }
    }
}
