import Checkpoints
import Foundation
import SafeTensors
import Statistics

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
    /// dtype (`out_dtype`/`dtype`, as MergeKit records it), a vocabulary trimmed to common rows, an `lm_head` stored
    /// although the config ties it, or `slices` (the layer count — `num_hidden_layers`, GPT-2's `n_layer` — and the
    /// per-layer lists, see ``ConfigLayerLists``). Only the changed keys are rewritten (``ConfigJSONEditor``); every
    /// other byte stays as the input spelled it. Returns the notes on what it changed (for the model card).
    private func writeConfig(to writer: ModelWriter) throws -> [String] {
        var notes: [String] = []
        let url = plan.configSource.appendingPathComponent("config.json")
        let data = try readConfig(url)
        var json = try ConfigJSONEditor(data: data, url: url)
        if let dtype = plan.configuration.outDtype ?? plan.configuration.dtype {
            let name = dtypeName(dtype)
            // Transformers 5 writes `dtype`, earlier versions `torch_dtype`: update the keys present (else add
            // `torch_dtype`, which both read).
            let keys = ["torch_dtype", "dtype"].filter { json.rawValue($0) != nil }
            for key in keys.isEmpty ? ["torch_dtype"] : keys where json.string(key) != name {
                try json.set(key, .string(name))
            }
        }
        if let embedding = plan.tensors.first(where: { TensorGroup(tensorName: $0.name) == .embeddings }),
            embedding.isTrimmed,
            let vocab = json.int("vocab_size"), vocab != embedding.shape[0]
        {
            try json.set("vocab_size", .int(embedding.shape[0]))
            notes.append("config.json: vocab_size set to \(embedding.shape[0]) (the common rows)")
        }
        // tokenizer alignment: the output's rows
        if let rows = plan.vocabularySize, json.int("vocab_size") != rows {
            try json.set("vocab_size", .int(rows))
        }
        // slices: the output's layers, and every per-layer list
        if !plan.layerMap.isEmpty {
            let keys = ["num_hidden_layers", "n_layer"].filter { json.rawValue($0) != nil }
            for key in keys.isEmpty ? ["num_hidden_layers"] : keys where json.int(key) != plan.layerCount {
                try json.set(key, .int(plan.layerCount))
            }
            let donor = plan.inputs[plan.baseIndex ?? 0].reference
            let lists = try ConfigLayerLists.apply(to: &json, layerMap: plan.layerMap, donor: donor) { reference in
                let input = plan.inputs.first { $0.reference == reference }!
                let source = input.url.appendingPathComponent("config.json")
                return try ConfigJSONEditor(data: try readConfig(source), url: source)
            }
            if !lists.isEmpty {
                notes.append("config.json: \(lists.joined(separator: ", ")) follow the slices' layer map")
            }
        }
        // Tied by the key or, without it, by the architecture's default (ModelConfig.wordEmbeddingsTied).
        let tied = try ModelConfig(data: data, url: url).wordEmbeddingsTied
        if plan.tensors.contains(where: { $0.name == "lm_head.weight" }), tied == true {
            try json.set("tie_word_embeddings", .bool(false))
            notes.append(
                "config.json: tie_word_embeddings set to false (some inputs store lm_head.weight, so the merge does)")
        }
        try writer.writeFile(named: "config.json", contents: json.data)
        return notes
    }

    /// The bytes of an input's config.json; a read failure names the file and what happened.
    private func readConfig(_ url: URL) throws -> Data {
        do {
            return try Data(contentsOf: url)
        } catch {
            throw CheckpointError(
                .unreadableFile, url: url, "cannot read the file: \(FileErrorReason.reason(error, url: url))",
                cause: error)
        }
    }
}
