import Analysis
import Checkpoints
import Foundation
import SafeTensors

/// A merge whose coefficients and gate verdict are known (from ``Merge/prepare(progress:)``): the only kind that
/// can be written.
public struct PreparedMerge: Sendable {
    /// The plan with MetaGPT's λ and the gate's outcome filled in.
    public let plan: MergePlan
    public let options: MergeOptions
    /// The task-vector statistics, when they were needed.
    public let statistics: TaskVectorStatistics?

    /// What ``write(to:overwrite:progress:)`` produced.
    public struct Result: Sendable {
        public let directory: URL
        public let shards: [String]
        public let tensorCount: Int
        public let bytes: Int
        /// Whether an earlier output under ``directory`` was replaced (`overwrite`).
        public let replaced: Bool
        /// Stale temporaries of earlier interrupted runs removed or found.
        public let notes: [String]
    }

    /// Every file and directory the merge reads: an output may be none of them, contain none, nor lie inside one.
    public var inputPaths: [URL] { plan.inputPaths(options) }

    /// Merges every tensor and writes the model directory: safetensors shards (+ index when more than one),
    /// `config.json`, the tokenizer files, `mergekit_config.yml` (the config as given) and `README.md` (the model
    /// card). Everything goes to a temporary sibling renamed into place when complete.
    ///
    /// - Throws: ``MergeError/gateFailed(violations:)`` when the gate failed without `force`; a `CheckpointError`
    ///   for an output that would replace what metamerge did not write; ``MergeError`` for non-finite results or
    ///   unavailable threads; any read/write error. Nothing is left under `directory` when it throws.
    @discardableResult
    public func write(
        to directory: URL, overwrite: Bool = false, progress: (any MergeProgressReporting)? = nil
    ) throws -> Result {
        if let gate = plan.gate, !gate.passed, !gate.forced {
            throw MergeError.gateFailed(violations: gate.violations.count)
        }
        let entries = plan.tensors.map { ModelWriter.Entry(name: $0.name, dtype: $0.dtype, shape: $0.shape) }
        let writer = try ModelWriter(
            destination: directory, entries: entries, shardSize: options.shardSize, overwrite: overwrite,
            inputs: inputPaths)
        do {
            let executor = try MergeExecutor(plan: plan, options: options)
            progress?.begin("merge", total: Double(plan.tensors.reduce(0) { $0 + $1.elementCount }))
            try executor.write(to: writer, progress: progress)
            progress?.end()
            try writer.copySupportFiles(from: plan.tokenizerSource, includingConfig: false)
            var card = plan
            card.notes += try writeConfig(to: writer)
            try writer.writeFile(named: "mergekit_config.yml", contents: Data(plan.configuration.text.utf8))
            try writer.writeFile(
                named: "README.md", contents: Data(ModelCard.render(plan: card, name: directory.lastPathComponent).utf8)
            )
            try writer.commit()
        } catch {
            writer.abort()
            throw error
        }
        return Result(
            directory: directory, shards: writer.shards.map(\.file), tensorCount: entries.count,
            bytes: entries.reduce(0) { $0 + $1.byteCount }, replaced: writer.replaced, notes: writer.notes)
    }

    /// `config.json` of the base (else the first model), copied as is unless the output differs from it: the
    /// dtype (`out_dtype`/`dtype`, as MergeKit records it), a vocabulary trimmed to common rows, or an `lm_head`
    /// stored although the config ties it. Returns the notes on what it changed (for the model card).
    private func writeConfig(to writer: ModelWriter) throws -> [String] {
        var notes: [String] = []
        let url = plan.configSource.appendingPathComponent("config.json")
        let data = try Data(contentsOf: url)
        guard var json = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw CheckpointError(.badConfig, url: url, "is not a JSON object")
        }
        var changed = false
        if let dtype = plan.configuration.outDtype ?? plan.configuration.dtype {
            let name = dtypeName(dtype)
            // Transformers 5 writes `dtype`, earlier versions `torch_dtype`: update the keys present (else add
            // `torch_dtype`, which both read).
            let keys = ["torch_dtype", "dtype"].filter { json[$0] != nil }
            for key in keys.isEmpty ? ["torch_dtype"] : keys where json[key] as? String != name {
                json[key] = name
                changed = true
            }
        }
        if let embedding = plan.tensors.first(where: { TensorGroup(tensorName: $0.name) == .embeddings }),
            embedding.isTrimmed,
            let vocab = json["vocab_size"] as? Int, vocab != embedding.shape[0]
        {
            json["vocab_size"] = embedding.shape[0]
            notes.append("config.json: vocab_size set to \(embedding.shape[0]) (the common rows)")
            changed = true
        }
        // tokenizer alignment: the output's rows
        if let rows = plan.vocabularySize, json["vocab_size"] as? Int != rows {
            json["vocab_size"] = rows
            changed = true
        }
        // slices: the output's layers
        if !plan.layerMap.isEmpty, json["num_hidden_layers"] as? Int != plan.layerCount {
            json["num_hidden_layers"] = plan.layerCount
            changed = true
        }
        if plan.tensors.contains(where: { $0.name == "lm_head.weight" }), json["tie_word_embeddings"] as? Bool == true {
            json["tie_word_embeddings"] = false
            notes.append(
                "config.json: tie_word_embeddings set to false (some inputs store lm_head.weight, so the merge does)")
            changed = true
        }
        if !changed {
            try writer.writeFile(named: "config.json", contents: data)
            return notes
        }
        let output = try JSONSerialization.data(
            withJSONObject: json, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        try writer.writeFile(named: "config.json", contents: output + Data("\n".utf8))
        return notes
    }
}
