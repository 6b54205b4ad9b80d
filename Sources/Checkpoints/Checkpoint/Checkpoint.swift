import Foundation
import SafeTensors

/// A model directory as Hugging Face lays it out: `config.json` plus `model.safetensors` or the shards named by
/// `model.safetensors.index.json`.
///
/// Opening validates every weight file (see `SafeTensorsFile`) and maps it into memory without reading it;
/// tensors are read on demand, in chunks, as Float32. Pickle checkpoints (`pytorch_model*.bin`, `.pt`, `.ckpt`,
/// `.pth`) are refused and never unpickled. Weight files reached through a symbolic link are followed only when
/// the link resolves inside the model directory or, for the Hugging Face hub cache
/// (`snapshots/<rev>/x -> ../../blobs/<hash>`), inside that cache entry's `blobs/` folder.
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

    /// Opens the model directory at `directory`.
    ///
    /// - Throws: ``CheckpointError`` naming the file: no such directory, no or bad `config.json`, no safetensors
    ///   weights (with how to convert a pickle checkpoint), a shard path escaping the directory, a weight file
    ///   linked from outside, a tensor stored twice; or the `SafeTensorsError` of a malformed weight file.
    public init(directory: URL) throws {
        self.directory = directory
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue
        else {
            throw CheckpointError(.notADirectory, url: directory, "is not a model directory (expected a folder with config.json and *.safetensors)")
        }
        let access = try DirectoryAccess(directory: directory)
        let configURL = directory.appendingPathComponent("config.json")
        guard FileManager.default.fileExists(atPath: configURL.path) else {
            throw CheckpointError(.badConfig, url: configURL, "missing: a model directory needs config.json")
        }
        try access.checkInside(configURL)
        self.config = try ModelConfig(contentsOf: configURL)

        var notes: [String] = []
        let weightURLs = try Self.weightFiles(in: directory, access: access, notes: &notes)
        var files: [SafeTensorsFile] = []
        var locations: [String: Int] = [:]
        for url in weightURLs {
            try access.checkInside(url)
            let file = try SafeTensorsFile(url: url)
            for info in file.tensors {
                if let previous = locations[info.name] {
                    throw CheckpointError(
                        .duplicateTensor, url: url, tensor: info.name,
                        "is stored twice (also in \(files[previous].url.lastPathComponent)); expected each tensor in one shard")
                }
                locations[info.name] = files.count
            }
            files.append(file)
        }
        let dropped = locations.keys.filter { $0.hasSuffix("rotary_emb.inv_freq") }
        for name in dropped { locations[name] = nil }
        if !dropped.isEmpty { notes.append("ignored \(dropped.count) rotary_emb.inv_freq buffer(s)") }
        self.files = files
        self.locations = locations
        self.tensorNames = locations.keys.sorted()
        self.notes = notes
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

    /// The name of the input embedding matrix, when the checkpoint has one.
    public var embeddingName: String? {
        ["model.embed_tokens.weight", "transformer.wte.weight", "embed_tokens.weight"].first { locations[$0] != nil }
    }

    /// Whether the output projection is the input embedding: no `lm_head.weight` is stored and an embedding is.
    ///
    /// A config may say `tie_word_embeddings: true` while still storing `lm_head.weight` (a copy); such a
    /// checkpoint is not reported as tied, because its stored `lm_head` is what a reader would use.
    public var lmHeadIsTied: Bool {
        locations["lm_head.weight"] == nil && embeddingName != nil
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
