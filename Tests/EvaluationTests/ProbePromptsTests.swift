import Checkpoints
import Evaluation
import Foundation
import TestSupport
import Testing
import Tokenizers

/// The probe takes its prompts with their texts and tokenizer (``Prompts``), and labels its result itself.
@Suite("Probe prompts: texts and curve labels from the prompts the probe was given")
struct ProbePromptsTests {
    static func family() throws -> ModelFamily {
        try BundledFamily.open()
    }

    @Test func textPromptsKeepTheirTextsAndLabelTheCurves() throws {
        let family = try Self.family()
        let file = try makeTemporaryDirectory("probe-prompts").appendingPathComponent("prompts.txt")
        try "66+24=\nmigia>\n".write(to: file, atomically: true, encoding: .utf8)
        let prompts = try PromptSource.text(file).load(for: family.base, vocabularySize: 36, maxLength: 64)
        #expect(prompts.texts == ["66+24=", "migia>"])
        let tokenizer = try Tokenizer(contentsOf: family.base.directory)
        #expect(prompts.ids == [try tokenizer.encode("66+24=").ids, try tokenizer.encode("migia>").ids])
        let result = try LinearityProbe(alphas: [0, 0.5, 1], scales: [1]).run(
            family, prompts: prompts, lambdas: [0.5, 0.5])
        #expect(result.promptTexts == ["66+24=", "migia>"])
        let labels = try #require(result.curveTokens)
        #expect(labels.count == 2)
        for (row, coordinates) in zip(labels, result.curveCoordinates) {
            #expect(row == (try coordinates.map { try tokenizer.decode([$0]) }))
        }
    }

    /// Token-id prompts have no texts; the curves are still labelled with the base's tokenizer.
    @Test func tokenIDPromptsAreLabelledWithTheBasesTokenizer() throws {
        let family = try Self.family()
        let file = try makeTemporaryDirectory("probe-prompts").appendingPathComponent("ids.txt")
        try "1 2 3\n4 5\n".write(to: file, atomically: true, encoding: .utf8)
        let prompts = try PromptSource.tokenIDs(file).load(for: family.base, vocabularySize: 36, maxLength: 64)
        #expect(prompts.ids == [[1, 2, 3], [4, 5]])
        #expect(prompts.texts == nil)
        #expect(prompts.tokenizer != nil)
        let result = try LinearityProbe(alphas: [0, 0.5, 1], scales: [1]).run(
            family, prompts: prompts, lambdas: [0.5, 0.5])
        #expect(result.promptTexts == nil)
        #expect(result.curveTokens?.count == 2)
    }
}
