import Checkpoints
import Foundation

extension MergeConfiguration {
    /// The family a configuration names, for the commands that analyse or probe it: `base_model` and every other
    /// model of `models:`, each named by its directory's last path component (a hub id's repo name) and resolved as
    /// ``resolveModel(_:)`` resolves it (the config's folder, then the working directory; `~` expanded; then the
    /// hub cache). A LoRA adapter directory, or `BASE+ADAPTER` with BASE the base_model, names the adapter's folder
    /// (``FamilySpec/open()`` opens it as an adapter on the base).
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
            let resolved = try resolveReference(entry.reference, allowingAdapter: true)
            var directory = resolved.url
            if let adapter = resolved.adapter {
                // BASE+ADAPTER: the adapter's task vector, when BASE is the base_model.
                guard directory.standardizedFileURL.resolvingSymlinksInPath().path
                    == base.standardizedFileURL.resolvingSymlinksInPath().path
                else {
                    throw MergeConfigError(
                        .incompatibleModels, file: file,
                        "model '\(entry.reference)' is a LoRA adapter on \(directory.path), not on base_model "
                            + "\(base.path); a task model may be an adapter only on base_model")
                }
                directory = adapter
            }
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
