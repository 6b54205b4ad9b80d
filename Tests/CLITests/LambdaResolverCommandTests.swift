import Foundation
import TestSupport
import Testing

/// probe and sweep read MetaGPT's λ through the one resolver (`FamilyLambdas`): an analysis report describes the
/// family when its fingerprints match, whatever names the analysis gave the task models.
@Suite("λ resolver on the command line")
struct LambdaResolverCommandTests {
    /// The analysis named the task models `first` and `second`; the probe names them `add` and `rev`. The weights are
    /// the same, so the probe reads λ from the report instead of running a pass (before, the names had to agree).
    @Test func probeReadsLambdaFromAReportOfTheSameWeightsUnderOtherNames() throws {
        let family = try FamilyCopy("lambda-resolver", tasks: ["add", "rev"])
        let report = family.workspace.appendingPathComponent("report.h5")
        let analyze = try MetaMergeProcess.run([
            "analyze", "--base", family.model("base").path, "--model", "first=\(family.model("add").path)",
            "--model", "second=\(family.model("rev").path)", "-o", report.path,
        ])
        #expect(analyze.status == 0, "\(analyze.stderr)")
        let probe = try MetaMergeProcess.run(
            ["probe"] + family.arguments + [
                "--alphas", "0,0.5,1", "--scales", "1", "--random-prompts", "1", "--prompt-length", "4", "-o",
                report.path,
            ])
        #expect(probe.status == 0, "\(probe.stderr)")
        #expect(probe.stderr.contains("MetaGPT λ read from \(report.path)"), "\(probe.stderr)")
    }
}
