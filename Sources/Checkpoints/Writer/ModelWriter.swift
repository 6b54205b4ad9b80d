import Foundation
import SafeTensors

/// Writes a model directory: safetensors shards by byte size plus `model.safetensors.index.json` (or a single
/// `model.safetensors` when everything fits in one shard), `config.json` and tokenizer files copied from a
/// chosen model, and any extra files (model card, config copy).
///
/// Everything is written inside a temporary sibling directory (`.<name>.partial-<pid>-<uuid>`, marked as this
/// tool's, see `OutputPath.makeTemporary(for:)`); ``commit()`` adds the manifest of what was written
/// (`OutputManifest`) and renames the model directory to the final name only when complete; ``abort()`` (or a throw
/// before commit) leaves nothing under the final name. Tensors are streamed: the caller appends each tensor's data,
/// in the planned order, in chunks.
public final class ModelWriter {
    /// A tensor to write: its name, storage dtype and shape.
    public struct Entry: Sendable, Hashable {
        public let name: String
        public let dtype: DType
        public let shape: [Int]
        public init(name: String, dtype: DType, shape: [Int]) {
            self.name = name
            self.dtype = dtype
            self.shape = shape
        }
        public var byteCount: Int { shape.reduce(1, *) * dtype.byteSize }
    }

    /// The files Hugging Face tools read beside the weights, copied by ``copySupportFiles(from:)`` when present.
    public static let supportFileNames = [
        "tokenizer.json", "tokenizer_config.json", "tokenizer.model", "special_tokens_map.json",
        "generation_config.json", "chat_template.jinja", "vocab.json", "merges.txt", "added_tokens.json",
    ]

    public let destination: URL
    /// The model directory being written, inside ``container``.
    public let temporary: URL
    /// The marked temporary sibling of ``destination`` that holds ``temporary`` (and, after a swap, the previous
    /// output until it is removed).
    public let container: URL
    /// The planned shards: file name and the entries it holds, in the order they must be appended (shards in
    /// the caller's order; inside a shard, the safetensors layout order).
    public let shards: [(file: String, entries: [Entry])]
    private let overwrite: Bool
    private var shardIndex = 0
    private var entryIndex = 0
    private var writer: SafeTensorsWriter?
    /// The XXH64 of the shard being written, fed by its writer as the bytes go out, and of every finished shard:
    /// the manifest takes them from here rather than reading back files that direct I/O kept out of the page cache.
    private var writtenHash: (file: String, hash: RunningHash)?
    private var writtenHashes: [String: String] = [:]
    private var elementsWritten = 0
    private var finished = false

    /// What creating the writer noticed (stale temporaries removed or found).
    public let notes: [String]

    /// Plans the shards and creates the temporary directory.
    ///
    /// - Parameters:
    ///   - destination: the final model directory; it must not exist unless `overwrite` is set, and then it must be
    ///     empty or a model directory this tool wrote and nobody changed since (``OutputManifest/verify(_:hashing:)``)
    ///     — nothing else is replaced.
    ///   - entries: every tensor, in the order they will be appended.
    ///   - shardSize: the most bytes of tensor data per shard (a tensor larger than that gets a shard of its own).
    ///   - inputs: the files and directories the merge reads; a destination that is, contains or lies inside one
    ///     is refused, with or without `overwrite`.
    public init(
        destination: URL, entries: [Entry], shardSize: ByteSize = .fiveGigabytes, overwrite: Bool = false,
        inputs: [URL] = []
    ) throws {
        let manager = FileManager.default
        try Self.checkDestination(destination, overwrite: overwrite, inputs: inputs)
        var names = Set<String>()
        for entry in entries where !names.insert(entry.name).inserted {
            throw CheckpointError(.writeFailed, url: destination, tensor: entry.name, "is planned twice")
        }
        self.notes = OutputPath.removeStalePartials(of: destination)
        self.destination = destination
        self.overwrite = overwrite
        self.shards = Self.plan(entries, shardSize: shardSize.bytes)
        let container = try OutputPath.makeTemporary(for: destination)
        self.container = container
        self.temporary = OutputPath.item(in: container)
        do {
            try manager.createDirectory(at: temporary, withIntermediateDirectories: false)
        } catch {
            TemporaryOutputs.unregister(container)
            try? manager.removeItem(at: container)
            throw CheckpointError(
                .writeFailed, url: temporary,
                "cannot create the temporary output directory: \(FileErrorReason.reason(error, url: temporary))",
                cause: error)
        }
    }

    /// The checks ``init(destination:entries:shardSize:overwrite:inputs:)`` makes of the destination, for callers
    /// that want to refuse a bad output before a long computation.
    public static func checkDestination(_ destination: URL, overwrite: Bool, inputs: [URL]) throws {
        let manager = FileManager.default
        try OutputPath.checkNotEmpty(destination.path, what: "the output directory")
        try OutputPath.refuseOverlap(destination, inputs: inputs, what: "the output directory")
        var isDirectory: ObjCBool = false
        if manager.fileExists(atPath: destination.path, isDirectory: &isDirectory) {
            guard overwrite else {
                throw CheckpointError(
                    .writeFailed, url: destination,
                    "already exists; choose another output directory or pass --overwrite")
            }
            var status = stat()
            guard isDirectory.boolValue, lstat(destination.path, &status) == 0, status.st_mode & S_IFMT == S_IFDIR
            else {
                throw CheckpointError(
                    .unsafePath, url: destination,
                    "exists and is not a directory (or is a symbolic link); --overwrite only replaces an unchanged "
                        + "earlier merge output or an empty directory")
            }
            // Names and sizes here; the contents (XXH64) are compared again just before the swap.
            try OutputManifest.verify(destination, hashing: false)
        }
        let parent = destination.deletingLastPathComponent()
        guard manager.fileExists(atPath: parent.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CheckpointError(.writeFailed, url: parent, "the output's parent directory does not exist")
        }
    }

    deinit {
        if !finished {
            try? FileManager.default.removeItem(at: container)
            TemporaryOutputs.unregister(container)
        }
    }

    /// The shards a writer makes of `entries`, computed without creating anything: greedily in the given order,
    /// a tensor opening a new shard when it would take the current one past `shardSize` bytes; one shard is
    /// `model.safetensors`, several are `model-0000i-of-0000n.safetensors`.
    public static func plan(_ entries: [Entry], shardSize: Int) -> [(file: String, entries: [Entry])] {
        var groups: [[Entry]] = []
        var current: [Entry] = []
        var bytes = 0
        for entry in entries {
            if !current.isEmpty, bytes + entry.byteCount > shardSize {
                groups.append(current)
                current = []
                bytes = 0
            }
            current.append(entry)
            bytes += entry.byteCount
        }
        if !current.isEmpty || groups.isEmpty { groups.append(current) }
        // Within a shard, tensors are appended in the order the safetensors layout stores them.
        groups = groups.map { group in
            SafeTensorsWriter.dataOrder(of: group.map { ($0.name, $0.dtype) }).map { group[$0] }
        }
        if groups.count == 1 { return [("model.safetensors", groups[0])] }
        return groups.enumerated().map { offset, group in
            (String(format: "model-%05d-of-%05d.safetensors", offset + 1, groups.count), group)
        }
    }

    /// The entry the next append must belong to, or `nil` when all tensors are written.
    public var nextEntry: Entry? {
        shardIndex < shards.count && entryIndex < shards[shardIndex].entries.count
            ? shards[shardIndex].entries[entryIndex] : nil
    }

    /// Appends the next chunk of tensor `name`'s data, given as Float32 and converted to the entry's dtype.
    public func append(_ name: String, float32 chunk: UnsafeBufferPointer<Float>) throws {
        try withCurrentWriter(name, count: chunk.count) { try $0.append(name, float32: chunk) }
    }

    /// Appends the next chunk of tensor `name`'s data as raw bytes in the entry's dtype (a whole number of elements).
    public func append(_ name: String, raw chunk: UnsafeRawBufferPointer) throws {
        guard let entry = nextEntry, entry.name == name else {
            throw CheckpointError(
                .writeFailed, url: destination, tensor: name,
                "appended out of the planned order (expected '\(nextEntry?.name ?? "nothing")')")
        }
        try withCurrentWriter(name, count: chunk.count / entry.dtype.byteSize) { try $0.append(name, raw: chunk) }
    }

    private func withCurrentWriter(_ name: String, count: Int, _ body: (SafeTensorsWriter) throws -> Void) throws {
        guard let entry = nextEntry, entry.name == name else {
            throw CheckpointError(
                .writeFailed, url: destination, tensor: name,
                "appended out of the planned order (expected '\(nextEntry?.name ?? "nothing")')")
        }
        if writer == nil {
            let shard = shards[shardIndex]
            let hash = RunningHash()
            writtenHash = (shard.file, hash)
            writer = try SafeTensorsWriter(
                url: temporary.appendingPathComponent(shard.file),
                tensors: shard.entries.map { ($0.name, $0.dtype, $0.shape) }, output: .direct,
                observer: { hash.value.update($0) })
        }
        try body(writer!)
        elementsWritten += count
        let total = entry.shape.reduce(1, *)
        if elementsWritten > total {
            throw CheckpointError(
                .writeFailed, url: destination, tensor: name, "more data appended than its shape \(entry.shape) holds")
        }
        if elementsWritten == total {
            elementsWritten = 0
            entryIndex += 1
            if entryIndex == shards[shardIndex].entries.count {
                try writer!.finish()
                writer = nil
                if let (file, hash) = writtenHash { writtenHashes[file] = hash.value.finish() }
                writtenHash = nil
                shardIndex += 1
                entryIndex = 0
            }
        }
    }

    /// Copies `config.json` and the tokenizer files present in `source` into the output.
    public func copySupportFiles(from source: URL, includingConfig: Bool = true) throws {
        let names = (includingConfig ? ["config.json"] : []) + Self.supportFileNames
        for name in names {
            let from = source.appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: from.path) else { continue }
            let to = temporary.appendingPathComponent(name)
            try? FileManager.default.removeItem(at: to)
            do {
                try FileManager.default.copyItem(at: from.resolvingSymlinksInPath(), to: to)
            } catch {
                throw CheckpointError(
                    .writeFailed, url: from, "cannot copy into the output: \(FileErrorReason.reason(error, url: from))",
                    cause: error)
            }
        }
    }

    /// Writes an extra file (model card, config copy) into the output.
    public func writeFile(named name: String, contents: Data) throws {
        do {
            try contents.write(to: temporary.appendingPathComponent(name))
        } catch {
            let file = temporary.appendingPathComponent(name)
            throw CheckpointError(
                .writeFailed, url: file, "cannot write: \(FileErrorReason.reason(error, url: file))", cause: error)
        }
    }

    /// Writes the index (when sharded) and the manifest (``OutputManifest``, the last file written) and renames the
    /// temporary directory to the destination. With `overwrite`, an existing destination is first checked in full
    /// against its own manifest (every file's XXH64) and replaced only when unchanged.
    ///
    /// - Throws: when a planned tensor was not fully written, the destination is not an unchanged earlier output
    ///   (naming the first difference), or the rename fails.
    public func commit() throws {
        if let next = nextEntry {
            throw CheckpointError(
                .writeFailed, url: destination, tensor: next.name, "was never written; the output is incomplete")
        }
        if shards.count == 1, shards[0].entries.isEmpty {
            try SafeTensorsWriter(url: temporary.appendingPathComponent(shards[0].file), tensors: []).finish()
        }
        if shards.count > 1 {
            var weightMap: [String: String] = [:]
            var total = 0
            for shard in shards {
                for entry in shard.entries {
                    weightMap[entry.name] = shard.file
                    total += entry.byteCount
                }
            }
            let index: [String: Any] = ["metadata": ["total_size": total], "weight_map": weightMap]
            let data = try JSONSerialization.data(withJSONObject: index, options: [.prettyPrinted, .sortedKeys])
            try writeFile(named: "model.safetensors.index.json", contents: data)
        }
        try OutputManifest.make(of: temporary, hashed: writtenHashes).write(into: temporary)
        // The full comparison reads the earlier output, so it runs before the lock a signal's cleanup takes; just
        // before the swap (under that lock) the names and sizes are compared once more.
        let hashed = overwrite && FileManager.default.fileExists(atPath: destination.path)
        if hashed { try OutputManifest.verify(destination, hashing: true) }
        let swapped: Bool? = try TemporaryOutputs.publish(container) {
            if try OutputPath.renameNoReplace(temporary, to: destination) { return false }
            guard overwrite else { return nil }
            try OutputManifest.verify(destination, hashing: !hashed)
            // Crash-safe swap: the exchange is atomic; afterwards the temporary name holds the previous output.
            try OutputPath.exchange(temporary, with: destination, aside: container.appendingPathComponent("previous"))
            return true
        }
        guard let swapped else {
            abort()
            throw CheckpointError(
                .writeFailed, url: destination,
                "was created by another process while this merge ran; this result was discarded (nothing of the other "
                    + "was touched)"
            )
        }
        try? FileManager.default.removeItem(at: container)
        replaced = swapped
        finished = true
    }

    /// Whether ``commit()`` replaced an earlier output (with `overwrite`).
    public private(set) var replaced = false

    /// Removes the temporary directory; nothing appears under the destination.
    public func abort() {
        writer = nil
        try? FileManager.default.removeItem(at: container)
        TemporaryOutputs.unregister(container)
        finished = true
    }
}

/// An ``XXH64`` a writer's observer closure updates in place.
private final class RunningHash {
    var value = XXH64()
}
