import Checkpoints
import Foundation

extension MergePlan {
    /// The family of this plan's base and task models, for what reads task vectors (the statistics, the forward
    /// pass): the base input's checkpoint, then each task input in plan order, named by `name`. A LoRA adapter on
    /// base_model (a bare adapter directory, or `BASE+ADAPTER` with BASE the base_model) is a task model given by
    /// its adapter (``ModelFamily/Member/init(name:adapter:base:)``).
    ///
    /// - Parameter purpose: what needs the family, for the refusal message.
    /// - Throws: ``MergeConfigError`` when there is no base_model, or an adapter is applied to another model than
    ///   base_model or to the base itself (no task vector on base_model to read from factors: refused rather than
    ///   computed on the wrong weights); what ``ModelFamily/init(base:tasks:)`` throws.
    package func family(purpose: String, name: (Input) throws -> String) throws -> ModelFamily {
        guard let base = baseIndex else {
            throw MergeConfigError(.missingKey, file: configuration.file, "\(purpose) need a base_model")
        }
        let baseInput = inputs[base]
        let basePath = baseInput.url.standardizedFileURL.resolvingSymlinksInPath().path
        for input in [baseInput] + taskIndices.map({ inputs[$0] }) where input.adapter != nil {
            let onBase = input.url.standardizedFileURL.resolvingSymlinksInPath().path == basePath
            guard onBase, !input.isBase else {
                throw MergeConfigError(
                    .incompatibleModels, file: configuration.file,
                    "model '\(input.reference)' is a LoRA adapter on \(input.url.path), not on base_model "
                        + "\(baseInput.url.path); \(purpose) read an adapter only as a task vector on base_model; "
                        + "merge the adapter into its base first (PEFT `merge_and_unload()`)")
            }
        }
        return try ModelFamily(
            base: baseInput.checkpoint,
            tasks: taskIndices.map {
                let input = inputs[$0]
                if let adapter = input.adapter {
                    return ModelFamily.Member(name: try name(input), adapter: adapter, base: baseInput.checkpoint)
                }
                return ModelFamily.Member(name: try name(input), checkpoint: input.checkpoint)
            })
    }
}
