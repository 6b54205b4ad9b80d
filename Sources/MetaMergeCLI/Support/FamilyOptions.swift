import ArgumentParser
import Checkpoints
import Foundation

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

    /// Opens the family.
    func load() throws -> ModelFamily {
        let spec: FamilySpec
        if let config {
            spec = try FamilySpec(configAt: URL(fileURLWithPath: config))
        } else {
            spec = try FamilySpec(base: base!, models: models)
        }
        return try spec.open()
    }
}

import Yams

extension FamilySpec {
    /// The family of a MergeKit YAML config: `base_model` and each `models[].model` (named by the directory's
    /// last path component). Relative paths are resolved against the config's folder, then the working directory.
    init(configAt url: URL) throws {
        let text: String
        do {
            text = try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw CheckpointError(.badArgument, url: url, "cannot read the config: \(error.localizedDescription)")
        }
        guard let root = try? Yams.load(yaml: text) as? [String: Any] else {
            throw CheckpointError(.badArgument, url: url, "is not a YAML mapping (expected MergeKit's models/base_model keys)")
        }
        func resolve(_ path: String) -> URL {
            if path.hasPrefix("/") { return URL(fileURLWithPath: path) }
            let relative = url.deletingLastPathComponent().appendingPathComponent(path)
            return FileManager.default.fileExists(atPath: relative.path) ? relative : URL(fileURLWithPath: path)
        }
        guard let base = root["base_model"] as? String else {
            throw CheckpointError(.badArgument, url: url, "has no base_model: task vectors need a base model")
        }
        guard let models = root["models"] as? [[String: Any]] else {
            throw CheckpointError(.badArgument, url: url, "has no models list")
        }
        let baseURL = resolve(base)
        var tasks: [(String, URL)] = []
        for entry in models {
            guard let path = entry["model"] as? String else {
                throw CheckpointError(.badArgument, url: url, "a models entry has no 'model' path")
            }
            let directory = resolve(path)
            if directory.standardizedFileURL == baseURL.standardizedFileURL { continue }
            tasks.append((directory.standardizedFileURL.lastPathComponent, directory))
        }
        self.init(base: baseURL, tasks: tasks)
    }
}
