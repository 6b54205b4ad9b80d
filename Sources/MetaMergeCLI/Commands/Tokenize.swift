import ArgumentParser
import Checkpoints
import Evaluation
import Foundation
import Tokenizers

extension MetaMerge {
    struct Tokenize: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the token ids and tokens a model's tokenizer.json gives texts: what the probe will feed.",
            discussion: """
                Encodes as the Hugging Face tokenizers library does (Tokenizer.from_file(…).encode(text)), with the \
                post-processor's special tokens unless --no-special-tokens. Prints one JSON line per text: \
                {"text": …, "ids": […], "tokens": […]}.
                """)

        @Argument(help: "A model directory holding tokenizer.json, or a tokenizer.json file.")
        var directory: String

        @Argument(help: "Texts to encode.")
        var texts: [String] = []

        @Option(
            name: .customLong("file"),
            help:
                ArgumentHelp(
                    "A prompt file as `probe --prompts` reads it (one text per line, or .jsonl with {\"text\": …}), "
                    + "any length.")
        )
        var file: String?

        @Flag(name: .customLong("no-special-tokens"), help: "Leave out the special tokens the post-processor adds.")
        var noSpecialTokens = false

        func run() async throws {
            try await reportingErrors {
                let tokenizer = try Tokenizer(contentsOf: ModelReference.resolve(directory).url)
                var all = texts
                if let file { all += try PromptSource.texts(URL(fileURLWithPath: file), limit: .max).map(\.text) }
                guard !all.isEmpty else { throw ValidationError("give texts to encode, or --file FILE") }
                for text in all {
                    Terminal.out(try tokenizer.encode(text, addSpecialTokens: !noSpecialTokens).jsonLine(text: text))
                }
            }
        }
    }
}
