import Foundation

extension Checkpoint {
    static let pickleSuffixes = [".bin", ".pt", ".pth", ".ckpt"]
    static let indexName = "model.safetensors.index.json"

    /// The weight files of a model directory: the shards named by the index, else `model.safetensors`, else every
    /// `*.safetensors` present; a folder of `*.gguf` files only is refused naming the first, with how to convert it.
    /// A shard the index names but the directory lacks is a problem (appended to
    /// `problems`), never a reason to fall back to other files: a missing shard would silently drop its tensors.
    static func weightFiles(
        in directory: URL, access: DirectoryAccess, weightMap: inout [String: String]?,
        problems: inout [CheckpointError]
    ) throws -> [URL] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        let safetensors = entries.filter { $0.hasSuffix(".safetensors") }.sorted()
        let indexURL = directory.appendingPathComponent(indexName)

        if entries.contains(indexName) {
            try access.checkInside(indexURL)
            let map = try Self.weightMap(fromIndex: indexURL)
            weightMap = map
            let shards = Set(map.values).sorted()
            for shard in shards where !entries.contains(shard) {
                let tensors = map.filter { $0.value == shard }.keys.sorted()
                problems.append(
                    CheckpointError(
                        .badIndex, url: indexURL,
                        "names shard \(shard), which does not exist in the directory (it should hold \(tensors.count) "
                            + "tensor(s), e.g. \(tensors.prefix(3).joined(separator: ", "))); the checkpoint is "
                            + "incomplete"
                    ))
            }
            return shards.filter { entries.contains($0) }.map { directory.appendingPathComponent($0) }
        }
        if safetensors.contains("model.safetensors") {
            return [directory.appendingPathComponent("model.safetensors")]
        }
        if !safetensors.isEmpty {
            return safetensors.map { directory.appendingPathComponent($0) }
        }
        if let gguf = entries.filter({ $0.hasSuffix(".gguf") }).sorted().first {
            let url = directory.appendingPathComponent(gguf)
            if let header = GGUFHeader.read(url) { throw header.error(at: url) }
        }
        let pickles = entries.filter { name in pickleSuffixes.contains { name.hasSuffix($0) } }.sorted()
        if !pickles.isEmpty {
            throw CheckpointError(
                .pickleCheckpoint, url: directory,
                "holds only pickle checkpoint(s) (\(pickles.prefix(3).joined(separator: ", "))), which MetaMerge never "
                    + "loads (unpickling runs arbitrary code). Convert to safetensors first, e.g. in Python: "
                    + "AutoModelForCausalLM.from_pretrained(dir).save_pretrained(out_dir, safe_serialization=True)")
        }
        throw CheckpointError(
            .noWeights, url: directory, "has no weights: expected model.safetensors or shards named by \(indexName)")
    }
}

/// Where the files of a model directory may resolve to: inside the directory itself, or — for the Hugging Face
/// hub cache layout `models--org--name/snapshots/<rev>/` — inside that entry's `blobs/` folder.
struct DirectoryAccess {
    let root: String
    let blobs: String?
    let directory: URL

    init(directory: URL) throws {
        self.directory = directory
        let real = directory.resolvingSymlinksInPath().standardizedFileURL
        root = real.path
        let parent = real.deletingLastPathComponent()
        if parent.lastPathComponent == "snapshots" {
            blobs = parent.deletingLastPathComponent().appendingPathComponent("blobs").path
        } else {
            blobs = nil
        }
    }

    /// Throws ``CheckpointError/Kind/unsafePath`` when `url` resolves outside the allowed places.
    func checkInside(_ url: URL) throws {
        let resolved = url.resolvingSymlinksInPath().standardizedFileURL.path
        if Self.isInside(resolved, root) { return }
        if let blobs, Self.isInside(resolved, blobs) { return }
        throw CheckpointError(
            .unsafePath, url: url,
            "resolves to \(resolved), outside the model directory (and not in a Hugging Face cache blobs/ folder); "
                + "refusing to follow it"
        )
    }

    private static func isInside(_ path: String, _ folder: String) -> Bool {
        path.hasPrefix(folder.hasSuffix("/") ? folder : folder + "/")
    }
}
