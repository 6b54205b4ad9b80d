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
        name: .customLong("model"),
        help: "A fine-tuned model, NAME=DIR, NAME=HUB_ID, a LoRA adapter dir or BASE+ADAPTER (repeat for each task).")
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
        try Self.load(config: config, base: base, models: models)
    }

    /// The family of a config file, else of `base` and the `--model` items (commands whose positional arguments
    /// leave no room for this option group — `recommend` — call it with their own options, validated alike: a config
    /// or a base).
    static func load(config: String?, base: String?, models: [String]) throws -> ModelFamily {
        if let config {
            return try MergeConfiguration.load(contentsOf: URL(fileURLWithPath: config)).familySpec().open()
        }
        let baseURL = try ModelReference.resolve(base!).url
        return try FamilySpec(base: baseURL, tasks: models.map { try parseModel($0, base: baseURL) }).open()
    }

    /// A `--model` item: `NAME=DIR`, or a bare `DIR` named by its last path component (a hub id's repo name, or
    /// `BASE+ADAPTER`'s two names joined by `+`). DIR is resolved as ``ModelReference`` resolves it: an existing path
    /// first (a `+` or `@` in it is a character), else `BASE+ADAPTER` — MergeKit's LoRA adapter ADAPTER on BASE, the
    /// task model PEFT's `merge_and_unload()` would give, which is the adapter's task vector when BASE is `base` (the
    /// family's base; any other BASE is refused) — else a hub id in the local Hugging Face cache.
    static func parseModel(_ item: String, base: URL) throws -> (name: String, directory: URL) {
        let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        var name: String?
        var text = item
        if parts.count == 2 {
            guard !parts[0].isEmpty, !parts[1].isEmpty else {
                throw ValidationError("--model '\(item)': expected NAME=DIR")
            }
            // A name is printed in one-line tables and messages and stored in reports.
            guard !parts[0].unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
                throw ValidationError(
                    "--model \(parts[0].debugDescription): the name holds a control character (a newline, a tab, …)")
            }
            name = parts[0]
            text = parts[1]
        }
        let reference = try ModelReference.resolve(text, allowingAdapter: true)
        guard let adapter = reference.adapter else { return (name ?? reference.name, reference.url) }
        func canonical(_ url: URL) -> String { url.standardizedFileURL.resolvingSymlinksInPath().path }
        guard canonical(reference.url) == canonical(base) else {
            throw ValidationError(
                "--model '\(item)': read as BASE+ADAPTER, the LoRA adapter \(adapter.path) on \(reference.url.path), "
                    + "which is not --base \(base.path); a task model may be an adapter only on the family's base")
        }
        return (name ?? reference.name, adapter)
    }
}
