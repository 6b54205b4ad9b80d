import ArgumentParser
import Checkpoints
import Foundation
import Merging

/// The model family a command works on: `--base DIR --model NAME=DIR …`, or a MergeKit-style YAML config
/// (its `base_model` and `models`).
struct FamilyOptions: ParsableArguments {
    @Argument(help: "A MergeKit-style YAML config naming base_model and models (instead of --base/--model).")
    var config: String?

    @Option(help: "The base model directory θ0.")
    var base: String?

    @Option(name: .customLong("model"), help: "A fine-tuned model, NAME=DIR (repeat for each task).")
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
        return try FamilySpec(base: URL(fileURLWithPath: base!), tasks: models.map(Self.parseModel)).open()
    }

    /// A `--model` item: `NAME=DIR`, or a bare `DIR` named by its last path component.
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
            return (parts[0], URL(fileURLWithPath: parts[1]))
        }
        let url = URL(fileURLWithPath: item)
        return (url.standardizedFileURL.lastPathComponent, url)
    }
}
