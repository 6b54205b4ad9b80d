import Foundation
import SafeTensors

/// A model directory as Hugging Face lays it out: `config.json` plus `model.safetensors` or the shards named by
/// `model.safetensors.index.json`.
///
/// Opening validates every weight file (see `SafeTensorsFile`) and keeps it open without reading its data;
/// tensors are read on demand, in chunks, as Float32. Pickle checkpoints (`pytorch_model*.bin`, `.pt`, `.ckpt`,
/// `.pth`) are refused and never unpickled; GGUF files are recognised and refused with how to convert them. Weight
/// files reached through a symbolic link are followed only when the link resolves inside the model directory or,
/// for the Hugging Face hub cache (`snapshots/<rev>/x -> ../../blobs/<hash>`), inside that cache entry's `blobs/`
/// folder.
public final class Checkpoint: Sendable {
    /// The model directory, as given.
    public let directory: URL
    public let config: ModelConfig
    /// The weight files, in the order they were opened (shard order).
    public let files: [SafeTensorsFile]
    /// What opening noticed that a user should know (a stale index ignored, a tensor dropped, …).
    public let notes: [String]
    private let locations: [String: Int]

    /// Tensor names present in the weight files, sorted; `rotary_emb.inv_freq` buffers are dropped.
    public let tensorNames: [String]

    /// Everything found wrong with the checkpoint (with ``Validation/collect``; empty otherwise, since strict
    /// opening throws the first).
    public let problems: [CheckpointError]

    /// Opens the model directory at `directory` and validates it.
    ///
    /// Validation: the index names only shards that exist and maps every tensor to the shard that holds it; no
    /// tensor is stored twice; the checkpoint is not quantized (GPTQ / AWQ / bitsandbytes); for `model.layers.<i>`
    /// layouts config.json has `num_hidden_layers`, `hidden_size` and `vocab_size`, consistent with the tensors.
    ///
    /// - Throws: ``CheckpointError`` naming the file: no such directory, no or bad `config.json`, no safetensors
    ///   weights (with how to convert a pickle checkpoint), a shard path escaping the directory, a weight file
    ///   linked from outside; with ``Validation/strict`` the first validation problem; or the `SafeTensorsError`
    ///   of a malformed weight file.
    public convenience init(directory: URL, validation: Validation = .strict) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue
        else {
            if let gguf = GGUFHeader.read(directory) { throw gguf.error(at: directory) }
            throw CheckpointError(
                .notADirectory, url: directory,
                "is not a model directory (expected a folder with config.json and *.safetensors, or a .safetensors "
                    + "file)"
            )
        }
        let access = try DirectoryAccess(directory: directory)
        let configURL = directory.appendingPathComponent("config.json")
        guard FileManager.default.fileExists(atPath: configURL.path) else {
            throw CheckpointError(.badConfig, url: configURL, "missing: a model directory needs config.json")
        }
        try access.checkInside(configURL)
        let config = try ModelConfig(contentsOf: configURL)

        var problems: [CheckpointError] = []
        var weightMap: [String: String]?
        let weightURLs = try Self.weightFiles(in: directory, access: access, weightMap: &weightMap, problems: &problems)
        for url in weightURLs { try access.checkInside(url) }
        try self.init(
            directory: directory, config: config, weightURLs: weightURLs, notes: [], problems: problems,
            validation: validation
        ) { files in
            var found =
                weightMap.map {
                    Self.indexProblems($0, indexURL: directory.appendingPathComponent(Self.indexName), files: files)
                } ?? []
            let infos = Dictionary(files.flatMap { $0.tensors.map { ($0.name, $0) } }, uniquingKeysWith: { a, _ in a })
            if infos.isEmpty {
                let names = files.map(\.url.lastPathComponent).joined(separator: ", ")
                let what = files.isEmpty ? "its \(Self.indexName) names no weight file" : "\(names) hold(s) no tensor"
                found.append(CheckpointError(.noWeights, url: directory, "\(what); expected the model's weights"))
            }
            found += Self.quantizationProblems(
                config: config, configURL: configURL, tensorNames: infos.keys.sorted(), directory: directory)
            found += Self.configProblems(config: config, configURL: configURL, infos: infos)
            // A head the index names but no loaded shard holds is the index's problem, reported once.
            if weightMap?["lm_head.weight"] == nil {
                found += Self.headProblems(config: config, configURL: configURL, infos: infos)
            }
            return found
        }
    }

    /// Opens a single `.safetensors` file as a checkpoint without config.json (`metamerge inspect FILE`).
    public convenience init(file: URL, validation: Validation = .strict) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: file.path, isDirectory: &isDirectory), !isDirectory.boolValue
        else {
            throw CheckpointError(.unreadableFile, url: file, "does not exist; expected a .safetensors file")
        }
        if let gguf = GGUFHeader.read(file) { throw gguf.error(at: file) }
        try self.init(
            directory: file.deletingLastPathComponent(), config: ModelConfig(json: [:]), weightURLs: [file], notes: [],
            problems: [], validation: validation
        ) { files in
            Self.quantizationProblems(
                config: ModelConfig(json: [:]), configURL: file, tensorNames: files.flatMap { $0.tensors.map(\.name) },
                directory: file)
        }
    }

    private init(
        directory: URL, config: ModelConfig, weightURLs: [URL], notes: [String], problems: [CheckpointError],
        validation: Validation, checks: ([SafeTensorsFile]) -> [CheckpointError]
    ) throws {
        var notes = notes
        var problems = problems
        if validation == .strict, let first = problems.first { throw first }
        self.directory = directory
        self.config = config
        var files: [SafeTensorsFile] = []
        var locations: [String: Int] = [:]
        for url in weightURLs {
            let file: SafeTensorsFile
            do {
                file = try SafeTensorsFile(url: url)
            } catch {
                if let gguf = GGUFHeader.read(url) { throw gguf.error(at: url) }
                throw error
            }
            for info in file.tensors {
                if let previous = locations[info.name] {
                    let error = CheckpointError(
                        .duplicateTensor, url: url, tensor: info.name,
                        "is stored twice (also in \(files[previous].url.lastPathComponent)); expected each tensor in "
                            + "one shard"
                    )
                    if validation == .strict { throw error }
                    problems.append(error)
                    continue
                }
                locations[info.name] = files.count
            }
            files.append(file)
        }
        problems += checks(files)
        if validation == .strict, let first = problems.first { throw first }
        let dropped = locations.keys.filter { $0.hasSuffix("rotary_emb.inv_freq") }
        for name in dropped { locations[name] = nil }
        if !dropped.isEmpty { notes.append("ignored \(dropped.count) rotary_emb.inv_freq buffer(s)") }
        let f64 = locations.keys.filter { files[locations[$0]!].info($0)?.dtype == .f64 }
        if !f64.isEmpty {
            notes.append(
                "\(f64.count) tensor(s) are stored as F64 (e.g. \(f64.sorted()[0])): statistics accumulate in Float64, "
                    + "but merging and the forward pass compute in Float32, rounding F64 values to 24-bit mantissas")
        }
        self.files = files
        self.locations = locations
        self.tensorNames = locations.keys.sorted()
        self.notes = notes
        self.problems = problems
    }

    /// The header entry of tensor `name`, or `nil` when the checkpoint does not store it.
    public func info(_ name: String) -> TensorInfo? {
        guard let index = locations[name] else { return nil }
        return files[index].info(name)
    }

    /// The weight file that stores tensor `name`.
    public func file(of name: String) -> SafeTensorsFile? {
        locations[name].map { files[$0] }
    }

    /// The name of the input embedding matrix, when the checkpoint has one: the weight transformers ties the head to
    /// for this `model_type` (``ModelConfig/tiedEmbeddingName``: Falcon's `transformer.word_embeddings.weight`,
    /// GPT-NeoX's `gpt_neox.embed_in.weight`, …) when stored, else the first stored of ``embeddingNames``.
    public var embeddingName: String? {
        ([config.tiedEmbeddingName].compactMap { $0 } + Self.embeddingNames).first { locations[$0] != nil }
    }

    /// Names of the input embedding in the layouts this project reads when config.json names no known `model_type`.
    static let embeddingNames = [
        "model.embed_tokens.weight", "transformer.wte.weight", "transformer.word_embeddings.weight",
        "embed_tokens.weight",
    ]

    /// Whether the checkpoint stores an output projection: `lm_head.weight`, or GPT-NeoX's `embed_out.weight`
    /// (transformers renames `embed_out.` to `lm_head.` when it loads a `GPTNeoXForCausalLM`).
    static func storesHead(config: ModelConfig, isStored: (String) -> Bool) -> Bool {
        isStored("lm_head.weight") || (config.modelType == "gpt_neox" && isStored("embed_out.weight"))
    }

    /// Whether the output projection is the input embedding: no head is stored (``storesHead(config:isStored:)``),
    /// an embedding is, and transformers would tie them — `tie_word_embeddings`, else the `model_type`'s default
    /// (``ModelConfig/wordEmbeddingsTied``; an unknown `model_type` without the key counts as tied). An untied head
    /// that is not stored is a validation problem instead.
    ///
    /// A config may say `tie_word_embeddings: true` while still storing `lm_head.weight` (a copy); such a
    /// checkpoint is not reported as tied, because its stored `lm_head` is what a reader would use (transformers
    /// 5.23 does not tie two stored weights that differ).
    public var lmHeadIsTied: Bool {
        !Self.storesHead(config: config) { locations[$0] != nil } && embeddingName != nil
            && config.wordEmbeddingsTied != false
    }

    /// Total number of parameters stored (tied weights counted once).
    public var parameterCount: Int {
        locations.keys.reduce(0) { $0 + (info($1)?.elementCount ?? 0) }
    }

    /// Reads elements `elements` (flat, row-major; all when `nil`) of tensor `name` as Float32 into `buffer`,
    /// whose count must equal the range's.
    public func readFloat32(
        _ name: String, elements: Range<Int>? = nil, into buffer: UnsafeMutableBufferPointer<Float>
    ) throws {
        guard let file = file(of: name) else {
            throw CheckpointError(.missingTensor, url: directory, tensor: name, "not found in this checkpoint")
        }
        try file.readFloat32(name, elements: elements, into: buffer)
    }

    /// Reads the whole of tensor `name` as Float32. Allocates; prefer ``readFloat32(_:elements:into:)`` with a
    /// reused buffer in loops over large tensors.
    public func readFloat32(_ name: String) throws -> [Float] {
        guard let info = info(name) else {
            throw CheckpointError(.missingTensor, url: directory, tensor: name, "not found in this checkpoint")
        }
        return try [Float](unsafeUninitializedCapacity: info.elementCount) { buffer, count in
            try readFloat32(name, into: UnsafeMutableBufferPointer(rebasing: buffer[0..<info.elementCount]))
            count = info.elementCount
        }
    }

    /// Bytes by storage dtype over all stored tensors.
    public var bytesByDtype: [DType: Int] {
        var result: [DType: Int] = [:]
        for name in tensorNames {
            if let info = info(name) { result[info.dtype, default: 0] += info.byteCount }
        }
        return result
    }
}
