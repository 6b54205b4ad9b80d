import Checkpoints
import Foundation

extension MergeConfiguration {
    /// The family a configuration names, for the commands that analyse or probe it: `base_model` and every other
    /// model of `models:`, each named by its directory's last path component (a hub id's repo name) and resolved as
    /// ``resolveModel(_:)`` resolves it (the config's folder, then the working directory; `~` expanded; then the
    /// hub cache).
    ///
    /// - Throws: ``MergeConfigError`` when there is no `base_model`, a model cannot be found, no model besides the
    ///   base is listed, or two task models share a name.
    public func familySpec() throws -> FamilySpec {
        guard let baseModel else {
            throw MergeConfigError(.missingKey, file: file, "has no base_model: task vectors need a base model")
        }
        let base = try resolveModel(baseModel)
        var tasks: [(name: String, directory: URL)] = []
        for entry in models {
            let resolved = try resolveReference(entry.reference)
            let directory = resolved.url
            if directory == base { continue }
            let name = resolved.name
            if tasks.contains(where: { $0.name == name }) {
                throw MergeConfigError(
                    .badModel, file: file,
                    "two models are named '\(name)' (the last path component); rename one directory")
            }
            tasks.append((name, directory))
        }
        guard !tasks.isEmpty else {
            throw MergeConfigError(.missingKey, file: file, "lists no model besides the base_model")
        }
        return FamilySpec(base: base, tasks: tasks)
    }
}
