import Foundation
import HDF5
import TestSupport
import Testing

/// The thin commands' seams seen from the binary: the demo's probe goes through the one prompt source.
@Suite("Thin commands: the demo probes through PromptSource")
struct ThinCommandsTests {
    /// The demo's prompts (its family's `prompts.txt` with `<bos>` in front) go through `PromptSource` — the one
    /// check of a probe's ids — as `probe --prompts` does: its /probe keeps the texts it encoded, and the ids are
    /// those of examples/tiny-family/prompt-ids.txt (the character-level tokenizer, `<bos>` = 1; the tokenizers
    /// library's ids in Tests/Fixtures/analysis/tokenizer-reference.json), so its figures are those of
    /// `probe --token-ids` on that file. The demo used to encode the texts itself and drop them.
    @Test func demoProbeKeepsItsPromptTexts() throws {
        let family = try FamilyCopy("thin-demo", tasks: ["add", "rev"])
        let texts = ["66+24=", "migia>", "154043|"]
        try Data((texts.joined(separator: "\n") + "\n").utf8)
            .write(to: family.root.appendingPathComponent("prompts.txt"))
        let demoOutput = family.workspace.appendingPathComponent("demo-out")
        let demo = try MetaMergeProcess.run(["demo", demoOutput.path, "--family", family.root.path])
        #expect(demo.status == 0, "\(demo.stderr)")

        let probeReport = family.workspace.appendingPathComponent("probe.h5")
        let probe = try MetaMergeProcess.run([
            "probe", "--base", family.model("base").path, "--model", "add=\(family.model("add").path)",
            "--model", "rev=\(family.model("rev").path)",
            "--token-ids", RepositoryPaths.tinyFamily.appendingPathComponent("prompt-ids.txt").path,
            "-o", probeReport.path,
        ])
        #expect(probe.status == 0, "\(probe.stderr)")

        let demoFile = try HDF5File.open(at: demoOutput.appendingPathComponent("report.h5"))
        defer { try? demoFile.close() }
        let probeFile = try HDF5File.open(at: probeReport)
        defer { try? probeFile.close() }
        let demoProbe = try demoFile.root.group("probe")
        let idsProbe = try probeFile.root.group("probe")
        #expect(try demoProbe.dataset("prompt_texts").readStrings() == texts.map { "<bos>" + $0 })
        #expect(
            try demoProbe.dataset("prompt_token_ids").read(Int64.self).values
                == [1, 10, 10, 30, 6, 8, 31, 1, 26, 22, 20, 22, 14, 32, 1, 5, 9, 8, 4, 8, 7, 33])
        for name in ["chord_residual", "taylor_error", "r_squared", "additivity_gap"] {
            #expect(
                try demoProbe.dataset(name).read(Double.self).values
                    == idsProbe.dataset(name).read(Double.self).values, "\(name)")
        }
    }
}
