import ArgumentParser
import Evaluation
import Foundation

/// The probe's prompts on the command line: `--token-ids FILE`, else `--prompts FILE` (text), else seeded random
/// prompts; read as one ``PromptSource``, which loads and checks them when the probe runs.
struct PromptOptions: ParsableArguments {
    @Option(name: .customLong("token-ids"), help: "Prompts as token ids, one prompt per line (LF or CRLF).")
    var tokenIDs: String?

    @Option(
        help: """
            Prompts as text, one per line (or a .jsonl file of {"text": …} objects, for prompts with newlines), \
            encoded with the base model's tokenizer.json as the tokenizers library does, with its special tokens \
            (see `metamerge tokenize`).
            """)
    var prompts: String?

    @Option(help: "Without prompt files: how many random prompts, and their length.")
    var randomPrompts: Int = 8
    @Option(help: "Length of each random prompt.")
    var promptLength: Int = 16
    @Option(help: "Seed of the random prompts.")
    var seed: UInt64 = 0

    var source: PromptSource {
        if let tokenIDs { return .tokenIDs(URL(fileURLWithPath: tokenIDs)) }
        if let prompts { return .text(URL(fileURLWithPath: prompts)) }
        return .random(count: randomPrompts, length: promptLength, seed: seed)
    }
}
