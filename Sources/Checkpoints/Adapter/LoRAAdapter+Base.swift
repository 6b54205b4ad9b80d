import Foundation
import SafeTensors

extension LoRAAdapter {
    /// Checks the adapter against the base checkpoint `base`: ``check(against:base:)`` on its tensors, after refusing
    /// an update to a tied `lm_head` (a base that stores no `lm_head.weight` and reads the output projection from
    /// its embedding).
    ///
    /// A tied `lm_head` is refused because PEFT 0.21 itself gives no one model for it: the adapter run by PEFT adds
    /// s·B·A to the output projection only (the embedding lookup reads the base weight), while `merge_and_unload()`
    /// adds it in place to the one shared tensor (`base_layer.weight.data += delta`), changing the input embedding
    /// too (PEFT warns about this, huggingface/peft#2777); `safe_merge=True` unties the two instead. No reading of
    /// such an adapter is exact against all of them.
    ///
    /// - Throws: ``CheckpointError`` naming the adapter file, the module and the base.
    public func check(against base: Checkpoint) throws {
        if base.lmHeadIsTied, let head = adaptedTensorNames.first(where: { base.info($0) == nil && isOutputHead($0) }) {
            throw CheckpointError(
                .badConfig, url: file.url, tensor: head,
                "module '\(head.dropLast(7))' adapts the output projection, which the base \(base.directory.path) "
                    + "ties to its embedding \(base.embeddingName ?? "") (stores no \(head)): PEFT applies such an "
                    + "update to the output only when the adapter runs, but merge_and_unload() adds it to the shared "
                    + "tensor, embedding included; not supported (train the adapter without the head, or untie it)")
        }
        try check(against: { base.info($0)?.shape }, base: base.directory)
    }

    /// Whether `name` is an output projection (`lm_head.weight`, `embed_out.weight`, …) by ``TensorGroup``.
    private func isOutputHead(_ name: String) -> Bool {
        TensorGroup(tensorName: name) == .lmHead
    }
}
