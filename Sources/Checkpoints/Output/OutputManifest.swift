import Foundation
import JSONCore

/// What `metamerge merge` wrote into an output directory: every file's name, size in bytes and XXH64 (see
/// ``XXH64`` for why not a cryptographic hash), stored there as `.metamerge-manifest.json` (`{"format":
/// "metamerge-output", "version": 1, "files": [{"name", "size", "xxh64"}]}`, files sorted by name, the manifest
/// itself not listed).
///
/// `--overwrite` replaces a directory only when ``verify(_:hashing:)`` finds it exactly as written: the manifest
/// is there, every listed file is a regular file of the listed size (and XXH64), and nothing else is there. A
/// directory without a manifest (someone else's, or a merge output of a version before manifests) is refused.
public struct OutputManifest: Codable, Sendable, Equatable {
    /// One file of the output.
    public struct File: Codable, Sendable, Equatable {
        public let name: String
        public let size: Int
        public let xxh64: String
    }

    /// The manifest's file name inside the output directory.
    public static let fileName = ".metamerge-manifest.json"
    static let formatName = "metamerge-output"

    public let format: String
    public let version: Int
    public let files: [File]

    /// Lists and hashes every file in `directory` (the manifest excluded); a file named in `hashed` takes the XXH64
    /// given there (computed from the bytes as they were written) instead of being read back. Polls
    /// ``Interruption`` while hashing.
    ///
    /// - Throws: a `CheckpointError` when an entry is not a regular file or cannot be read.
    public static func make(of directory: URL, hashed: [String: String] = [:]) throws -> OutputManifest {
        var files: [File] = []
        for name in try entries(of: directory) where name != fileName {
            let url = directory.appendingPathComponent(name)
            guard let size = regularFileSize(url) else {
                throw CheckpointError(.writeFailed, url: url, "is not a regular file; the output holds only files")
            }
            do {
                files.append(File(name: name, size: size, xxh64: try hashed[name] ?? XXH64.hex(ofFileAt: url)))
            } catch let error as CheckpointError {
                throw error
            } catch {
                throw CheckpointError(
                    .unreadableFile, url: url, "cannot read it to hash it: \(error.localizedDescription)",
                    cause: error)
            }
        }
        return OutputManifest(format: formatName, version: 1, files: files)
    }

    /// Writes the manifest into `directory` as ``fileName``.
    public func write(into directory: URL) throws {
        let url = directory.appendingPathComponent(Self.fileName)
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(self).write(to: url)
        } catch {
            throw CheckpointError(.writeFailed, url: url, "cannot write: \(error.localizedDescription)", cause: error)
        }
    }

    /// The manifest at `url`, through the one strict JSON reader (``ModelConfig/parse(_:)``): an object with a
    /// string `format`, an integer `version` and `files`, an array of objects with a string `name`, a non-negative
    /// integer `size` and a string `xxh64`; other keys are ignored.
    ///
    /// - Throws: `ModelConfig.ParseFailure` when it is not JSON, or ``ManifestShapeError`` naming the first item
    ///   that is not as described.
    static func read(_ url: URL) throws -> OutputManifest {
        let node = try ModelConfig.parse([UInt8](try Data(contentsOf: url)))
        func string(_ node: JSONNode?, _ item: String) throws -> String {
            guard let value = node?.stringValue else { throw ManifestShapeError(item: item, expected: "a string") }
            return value
        }
        func count(_ node: JSONNode?, _ item: String) throws -> Int {
            guard case .number(let number)? = node, let value = number.nonNegativeInt else {
                throw ManifestShapeError(item: item, expected: "a non-negative integer")
            }
            return value
        }
        guard node.members != nil else { throw ManifestShapeError(item: "the manifest", expected: "an object") }
        if let key = node.duplicateKey {
            throw ManifestShapeError(item: "'\(key)'", expected: "one value (the key is given twice)")
        }
        guard case .array(let entries)? = node["files"] else {
            throw ManifestShapeError(item: "files", expected: "an array")
        }
        let files = try entries.enumerated().map { i, entry in
            if let key = entry.duplicateKey {
                throw ManifestShapeError(item: "files[\(i)].\(key)", expected: "one value (the key is given twice)")
            }
            return File(
                name: try string(entry["name"], "files[\(i)].name"), size: try count(entry["size"], "files[\(i)].size"),
                xxh64: try string(entry["xxh64"], "files[\(i)].xxh64"))
        }
        return OutputManifest(
            format: try string(node["format"], "format"), version: try count(node["version"], "version"), files: files)
    }

    /// Checks that `directory` is empty or holds exactly what its manifest lists, unchanged: sizes always, and the
    /// XXH64 of every file when `hashing` (a full read).
    ///
    /// - Throws: a `CheckpointError` (`.unsafePath`) naming the first difference: no manifest, an unreadable one, a
    ///   file that is not listed (or not a regular file), a listed file that is missing or changed.
    public static func verify(_ directory: URL, hashing: Bool) throws {
        let refusal = "--overwrite replaces only an unchanged earlier merge output or an empty directory"
        let names = try entries(of: directory)
        if names.isEmpty { return }
        let url = directory.appendingPathComponent(fileName)
        guard names.contains(fileName) else {
            throw CheckpointError(
                .unsafePath, url: directory,
                "has no \(fileName), so metamerge cannot tell that it wrote everything there (another tool's "
                    + "directory, or a merge output of a metamerge version before manifests); \(refusal) — remove it "
                    + "yourself or choose another directory")
        }
        let manifest: OutputManifest
        do {
            manifest = try read(url)
        } catch {
            let reason = (error as? ModelConfig.ParseFailure)?.reason ?? "\(error)"
            throw CheckpointError(
                .unsafePath, url: url, "is not a readable metamerge manifest (\(reason); expected JSON with "
                    + "\"format\": \"\(formatName)\" and \"files\"); \(refusal)", cause: error)
        }
        guard manifest.format == formatName, manifest.version == 1 else {
            throw CheckpointError(
                .unsafePath, url: url,
                "is not a version-1 \(formatName) manifest (format '\(manifest.format)', version \(manifest.version)); "
                    + refusal)
        }
        let listed = Dictionary(manifest.files.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for name in names where name != fileName && listed[name] == nil {
            throw CheckpointError(
                .unsafePath, url: directory.appendingPathComponent(name),
                "was not written by metamerge (not in \(fileName)); \(refusal), so it is left as it is")
        }
        for file in manifest.files {
            let path = directory.appendingPathComponent(file.name)
            guard names.contains(file.name), let size = regularFileSize(path) else {
                throw CheckpointError(
                    .unsafePath, url: path,
                    "is listed in \(fileName) but missing or no longer a regular file; the output changed since "
                        + "metamerge wrote it — \(refusal)")
            }
            guard size == file.size else {
                throw CheckpointError(
                    .unsafePath, url: path,
                    "changed since metamerge wrote it (\(size) bytes, \(file.size) written); \(refusal)")
            }
            guard hashing else { continue }
            let digest: String
            do { digest = try XXH64.hex(ofFileAt: path) } catch {
                throw CheckpointError(
                    .unsafePath, url: path, "cannot be read to compare it with what metamerge wrote; \(refusal)",
                    cause: error)
            }
            guard digest == file.xxh64 else {
                throw CheckpointError(
                    .unsafePath, url: path,
                    "changed since metamerge wrote it (its XXH64 hash differs from the one in \(fileName)); \(refusal)")
            }
        }
    }

    /// The names in `directory`, sorted.
    private static func entries(of directory: URL) throws -> [String] {
        do {
            return try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        } catch {
            throw CheckpointError(
                .unreadableFile, url: directory, "cannot list the directory: \(error.localizedDescription)",
                cause: error)
        }
    }

    /// The size of `url` when it is a regular file (a symbolic link is not followed: it is not what was written).
    private static func regularFileSize(_ url: URL) -> Int? {
        var status = stat()
        guard lstat(url.path, &status) == 0, status.st_mode & S_IFMT == S_IFREG else { return nil }
        return Int(status.st_size)
    }
}

/// A manifest item of the wrong kind (``OutputManifest/read(_:)``).
struct ManifestShapeError: Error, CustomStringConvertible {
    let item: String
    let expected: String
    var description: String { "\(item): expected \(expected)" }
}
