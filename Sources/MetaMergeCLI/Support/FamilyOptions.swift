import ArgumentParser
import Checkpoints
import Foundation
import Merging

/// The model family a command works on: `--base DIR --model NAME=DIR …`, or a MergeKit-style YAML config
/// (its `base_model` and `models`).
struct FamilyOptions: ParsableArguments {
    @Argument(help: "A MergeKit-style YAML config naming base_model and models (instead of --base/--model).")
    var config: String?

    @Option(help: "The base model θ0: a directory, or a hub id ORG/NAME[@REVISION] in the local cache.")
    var base: String?

    @Option(
        name: .customLong("model"), help: "A fine-tuned model, NAME=DIR or NAME=HUB_ID (repeat for each task).")
    var models: [String] = []

    func validate() throws {
        if config == nil {
            guard base != nil else { throw ValidationError("give a config file, or --base DIR and --model NAME=DIR …") }
            guard !models.isEmpty else { throw ValidationError("give at least one --model NAME=DIR besides --base") }
        } else if base != nil || !models.isEmpty {
            throw ValidationError("give either a config file or --base/--model, not both")
        }
    }

    /// Opens the family: from the configuration as `Merging` reads it (one reader, one rule for relative paths),
    /// or from `--base` and the `NAME=DIR` items.
    func load() throws -> ModelFamily {
        if let config {
            return try MergeConfiguration.load(contentsOf: URL(fileURLWithPath: config)).familySpec().open()
        }
        return try FamilySpec(base: ModelReference.resolve(base!).url, tasks: models.map(Self.parseModel)).open()
    }

    /// A `--model` item: `NAME=DIR`, or a bare `DIR` named by its last path component; DIR may be a hub id
    /// (``ModelReference``: an existing path first, else the local Hugging Face cache), named by its repo name.
    static func parseModel(_ item: String) throws -> (name: String, directory: URL) {
        let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        if parts.count == 2 {
            guard !parts[0].isEmpty, !parts[1].isEmpty else {
                throw ValidationError("--model '\(item)': expected NAME=DIR")
            }
            // A name is printed in one-line tables and messages and stored in reports.
            guard !parts[0].unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
                throw ValidationError(
                    "--model \(parts[0].debugDescription): the name holds a control character (a newline, a tab, …)")
            }
            return (parts[0], try ModelReference.resolve(parts[1]).url)
        }
        let reference = try ModelReference.resolve(item)
        return (reference.name, reference.url)
    }
}
