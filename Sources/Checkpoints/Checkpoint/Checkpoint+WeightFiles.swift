import Foundation

extension Checkpoint {
    static let pickleSuffixes = [".bin", ".pt", ".pth", ".ckpt"]
    static let indexName = "model.safetensors.index.json"

    /// The weight files of a model directory: the shards named by the index when it can be trusted, else
    /// `model.safetensors`, else every `*.safetensors` present.
    static func weightFiles(in directory: URL, access: DirectoryAccess, notes: inout [String]) throws -> [URL] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        let safetensors = entries.filter { $0.hasSuffix(".safetensors") }.sorted()
        let indexURL = directory.appendingPathComponent(indexName)

        if entries.contains(indexName) {
            try access.checkInside(indexURL)
            let shards = try shardNames(fromIndex: indexURL)
            let missing = shards.filter { !entries.contains($0) }
            if missing.isEmpty {
                return shards.map { directory.appendingPathComponent($0) }
            }
            notes.append(
                "\(indexName) names \(missing.count) missing shard(s) (\(missing.prefix(3).joined(separator: ", "))); "
                    + "using the *.safetensors files present instead")
        }
        if safetensors.contains("model.safetensors") {
            return [directory.appendingPathComponent("model.safetensors")]
        }
        if !safetensors.isEmpty {
            return safetensors.map { directory.appendingPathComponent($0) }
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

    /// The distinct shard file names of `model.safetensors.index.json`, in first-mention order by tensor name.
    ///
    /// A name that is absolute, contains a path separator or `..` is refused: shards live in the model directory.
    static func shardNames(fromIndex url: URL) throws -> [String] {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(contentsOf: url))
        } catch {
            throw CheckpointError(.badIndex, url: url, "is not valid JSON: \(error.localizedDescription)")
        }
        guard let root = object as? [String: Any], let weightMap = root["weight_map"] as? [String: Any] else {
            throw CheckpointError(.badIndex, url: url, "expected a JSON object with a \"weight_map\" object")
        }
        var names: [String] = []
        var seen: Set<String> = []
        for key in weightMap.keys.sorted() {
            guard let shard = weightMap[key] as? String else {
                throw CheckpointError(.badIndex, url: url, tensor: key, "weight_map value is not a file name")
            }
            guard !shard.isEmpty, !shard.contains("/"), !shard.contains("\\"), shard != "..", shard != "." else {
                throw CheckpointError(
                    .unsafePath, url: url, tensor: key,
                    "names shard '\(shard)', which is not a plain file name inside the model directory")
            }
            if seen.insert(shard).inserted { names.append(shard) }
        }
        return names.sorted()
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
            "resolves to \(resolved), outside the model directory (and not in a Hugging Face cache blobs/ folder); refusing to follow it")
    }

    private static func isInside(_ path: String, _ folder: String) -> Bool {
        path.hasPrefix(folder.hasSuffix("/") ? folder : folder + "/")
    }
}
