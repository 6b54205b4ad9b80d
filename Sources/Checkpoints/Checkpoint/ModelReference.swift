import Foundation

/// A model as a command line or a config names it, resolved to a local folder: an existing path, or a Hugging Face
/// hub id (`org/name`, `org/name@REVISION`) read from the local hub cache. Nothing is ever downloaded.
///
/// Resolution, in this order:
/// 1. **A path that exists is a path.** `~` is expanded; an absolute path is taken as is, a relative one is looked up
///    in each search folder in turn (a config's folder, then the working directory). `+` and `@` in an existing
///    path are ordinary characters (`…/llama+code`, `…/user@host`).
/// 2. Otherwise the text is read as syntax, as MergeKit's `ModelReference.parse` splits it:
///    - `BASE+ADAPTER`: a LoRA adapter on a base. With `allowingAdapter`, the first split at a `+` whose left side
///      resolves and whose right side resolves to an adapter directory (``LoRAAdapter/isAdapterDirectory(_:)``)
///      gives ``url`` = the base and ``adapter`` = the adapter. Otherwise refused: when the two sides of some `+`
///      both resolve (as paths or cached hub ids), the error names both folders and says where an adapter applies;
///      otherwise it says to merge the adapter into its base first.
///    - `ID@REVISION`: hub id `ID` at `REVISION` (a branch, tag or 40-hex commit).
///    - `ID`: hub id `ID` at `main`, when `ID` is a valid repo id (huggingface_hub's `validate_repo_id`:
///      `name` or `namespace/name`, ASCII letters, digits, `-`, `_`, `.`, at most 96 characters each part, no `--`
///      or `..`, not starting or ending with `-` or `.`, not ending in `.git`).
///
/// A hub id is looked up as huggingface_hub's `snapshot_download(local_files_only=True)` does: the cache folder is
/// `HF_HUB_CACHE`, else `HUGGINGFACE_HUB_CACHE`, else `HF_HOME/hub`, else `XDG_CACHE_HOME/huggingface/hub`, else
/// `~/.cache/huggingface/hub` (`~` and `$VAR` expanded); the entry is `models--ORG--NAME`; a 40-hex revision names
/// the snapshot `snapshots/REVISION/` directly, any other is read from `refs/REVISION` (the commit it holds,
/// surrounding whitespace ignored). The snapshot's files are symlinks into the entry's `blobs/`, which ``Checkpoint`` follows.
public struct ModelReference: Sendable, Hashable {
    /// The reference as written.
    public let text: String
    /// The local folder (or file) it names: the path itself, or the hub cache snapshot folder.
    public let url: URL
    /// A short name for it: the path's last component, or the hub id's repo name.
    public let name: String
    /// The hub id, when the reference was read from the cache.
    public let hubID: String?
    /// The revision asked for (`main` when none was given), when the reference was read from the cache.
    public let revision: String?
    /// The LoRA adapter directory of a `BASE+ADAPTER` reference (``url`` is then the base's folder).
    public let adapter: URL?

    init(
        text: String, url: URL, name: String, hubID: String? = nil, revision: String? = nil, adapter: URL? = nil
    ) {
        self.text = text
        self.url = url
        self.name = name
        self.hubID = hubID
        self.revision = revision
        self.adapter = adapter
    }

    /// Resolves `text` (see the type's documentation).
    ///
    /// - Parameters:
    ///   - directories: the folders a relative path is looked up in, in order (default, and when empty: the working
    ///     directory).
    ///   - environment: where the hub cache location is read from (default: the process's environment).
    ///   - allowingAdapter: whether `BASE+ADAPTER` may resolve to a base and an adapter (callers that apply
    ///     ``adapter``); when false it is refused.
    /// - Throws: ``CheckpointError`` (`badReference`) saying which readings were tried: the paths looked at, and
    ///   for a hub id the cache folder searched and the command that would download it; for `BASE+ADAPTER` where
    ///   the caller does not allow it, where an adapter applies.
    public static func resolve(
        _ text: String, searchingIn directories: [URL]? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment, allowingAdapter: Bool = false
    ) throws -> ModelReference {
        let folders =
            directories.flatMap { $0.isEmpty ? nil : $0 }
            ?? [URL(fileURLWithPath: FileManager.default.currentDirectoryPath)]
        guard !text.isEmpty else {
            throw CheckpointError(
                .badReference, url: folders[0], "empty model reference; name a model directory or a hub id ORG/NAME")
        }
        let candidates = pathCandidates(text, folders: folders)
        if let found = candidates.first(where: { FileManager.default.fileExists(atPath: $0.path) }) {
            return ModelReference(text: text, url: found, name: found.lastPathComponent)
        }
        let looked =
            candidates.count == 1
            ? "no such file or directory"
            : "no such file or directory (looked in \(candidates.map(\.path).joined(separator: " and ")))"
        let place = candidates[0]

        if text.contains("+") {
            // The first split at a `+` whose two sides both resolve (a base named `llama+code` included); at most
            // 8 splits are tried, so a pathological reference cannot make this unbounded work.
            let pluses = text.indices.filter { text[$0] == "+" }.prefix(8)
            let split = pluses.lazy.compactMap { plus -> (ModelReference, ModelReference)? in
                let left = String(text[..<plus]), right = String(text[text.index(after: plus)...])
                guard let model = try? resolveWithoutAdapter(left, folders, environment),
                    let adapter = try? resolveWithoutAdapter(right, folders, environment)
                else { return nil }
                return (model, adapter)
            }.first
            if let (model, adapter) = split {
                if allowingAdapter {
                    guard LoRAAdapter.isAdapterDirectory(adapter.url) else {
                        throw CheckpointError(
                            .badReference, url: place,
                            "\(looked); read as BASE+ADAPTER: base model \(model.url.path) plus \(adapter.url.path), "
                                + "which has no \(LoRAAdapter.configName) (expected a PEFT LoRA adapter directory)")
                    }
                    return ModelReference(
                        text: text, url: model.url, name: model.name + "+" + adapter.name, hubID: model.hubID,
                        revision: model.revision, adapter: adapter.url)
                }
                throw CheckpointError(
                    .badReference, url: place,
                    "\(looked); read as BASE+ADAPTER: base model \(model.url.path) plus LoRA adapter "
                        + "\(adapter.url.path). An adapter applies only where a task model or a model to evaluate "
                        + "goes (--model, eval, merge configs): here merge the adapter into its base first (PEFT "
                        + "`merge_and_unload()`), then name that directory")
            }
            throw CheckpointError(
                .badReference, url: place,
                "\(looked); read as BASE+ADAPTER: unsupported LoRA reference '\(text)' (model+lora); merge the "
                    + "adapter into its base first (PEFT `merge_and_unload()`), then name that directory")
        }
        return try hubReference(text, looked: looked, place: place, environment: environment)
    }

    /// The places a path reading of `text` may be: as is when absolute (after `~`), else in each folder.
    static func pathCandidates(_ text: String, folders: [URL]) -> [URL] {
        let expanded = (text as NSString).expandingTildeInPath
        if expanded.hasPrefix("/") { return [URL(fileURLWithPath: expanded).standardizedFileURL] }
        var result: [URL] = []
        for folder in folders {
            let url = folder.appendingPathComponent(expanded).standardizedFileURL
            if !result.contains(url) { result.append(url) }
        }
        return result
    }

    /// One part of `BASE+ADAPTER`: a path or a cached hub id, never itself split on `+`.
    static func resolveWithoutAdapter(
        _ text: String, _ folders: [URL], _ environment: [String: String]
    ) throws -> ModelReference {
        guard !text.isEmpty else { throw CheckpointError(.badReference, url: URL(fileURLWithPath: "."), "empty") }
        let candidates = pathCandidates(text, folders: folders)
        if let found = candidates.first(where: { FileManager.default.fileExists(atPath: $0.path) }) {
            return ModelReference(text: text, url: found, name: found.lastPathComponent)
        }
        return try hubReference(text, looked: "", place: candidates[0], environment: environment)
    }

    /// `ID` or `ID@REVISION` read from the hub cache.
    static func hubReference(
        _ text: String, looked: String, place: URL, environment: [String: String]
    ) throws -> ModelReference {
        let at = text.firstIndex(of: "@")
        let id = at.map { String(text[..<$0]) } ?? text
        let revision = at.map { String(text[text.index(after: $0)...]) } ?? "main"
        let reading = "read as hub id '\(id)' at revision '\(revision)'"
        guard isValidRepoID(id) else {
            let why =
                at == nil
                ? "it is not a hub id either (ORG/NAME: letters, digits, '-', '_', '.')"
                : "\(reading), but '\(id)' is not a valid hub id (ORG/NAME: letters, digits, '-', '_', '.')"
            throw CheckpointError(.badReference, url: place, "\(looked); \(why)")
        }
        guard isSafeRevision(revision) else {
            throw CheckpointError(
                .badReference, url: place,
                "\(looked); \(reading), but '\(revision)' is not a revision (a branch, tag or 40-hex commit)")
        }
        let cache = hubCache(environment)
        let entry = cache.appendingPathComponent("models--" + id.split(separator: "/").joined(separator: "--"))
        let download =
            "download it with `hf download \(id)\(at == nil ? "" : " --revision \(revision)")` "
            + "(or `huggingface-cli download …`), or name a local directory"
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: entry.path, isDirectory: &isDirectory), isDirectory.boolValue
        else {
            throw CheckpointError(
                .badReference, url: place,
                "\(looked); \(reading): not in the Hugging Face cache (no folder \(entry.path)); \(download)")
        }
        let commit: String
        let refURL = entry.appendingPathComponent("refs").appendingPathComponent(revision)
        if isCommitHash(revision) {
            commit = revision
        } else if let data = FileManager.default.contents(atPath: refURL.path),
            let text = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines)
        {
            guard !text.isEmpty, !text.contains("/"), text != "..", text != "." else {
                throw CheckpointError(
                    .badReference, url: refURL, "holds '\(text)', expected a commit (the snapshot folder's name)")
            }
            commit = text
        } else {
            throw CheckpointError(
                .badReference, url: place,
                "\(looked); \(reading): the cache entry \(entry.path) has no ref '\(revision)' (no file "
                    + "\(refURL.path)) and '\(revision)' is not a 40-hex commit; \(download)")
        }
        let snapshot = entry.appendingPathComponent("snapshots").appendingPathComponent(commit)
        guard FileManager.default.fileExists(atPath: snapshot.path, isDirectory: &isDirectory), isDirectory.boolValue
        else {
            throw CheckpointError(
                .badReference, url: place,
                "\(looked); \(reading): revision '\(revision)' is commit \(commit), but the cache has no snapshot "
                    + "folder \(snapshot.path); \(download)")
        }
        let name = id.split(separator: "/").last.map(String.init) ?? id
        return ModelReference(text: text, url: snapshot, name: name, hubID: id, revision: revision)
    }

    /// The hub cache folder as huggingface_hub's `constants.HF_HUB_CACHE` computes it: `HF_HUB_CACHE`, else
    /// `HUGGINGFACE_HUB_CACHE`, else `HF_HOME/hub`, else `XDG_CACHE_HOME/huggingface/hub`, else
    /// `~/.cache/huggingface/hub`; `~` expanded, then `$NAME` / `${NAME}` (Python's `os.path.expandvars`).
    public static func hubCache(_ environment: [String: String]) -> URL {
        func expanded(_ path: String) -> String {
            expandingVariables((path as NSString).expandingTildeInPath, environment)
        }
        if let path = environment["HF_HUB_CACHE"] ?? environment["HUGGINGFACE_HUB_CACHE"] {
            return URL(fileURLWithPath: expanded(path))
        }
        let home =
            environment["HF_HOME"]
            ?? ((environment["XDG_CACHE_HOME"] ?? "~/.cache") as NSString).appendingPathComponent("huggingface")
        return URL(fileURLWithPath: expanded(home)).appendingPathComponent("hub")
    }

    /// Python's `posixpath.expandvars`: each `$NAME` or `${NAME}` (NAME of ASCII letters, digits, `_`) whose NAME is
    /// set in `environment` is replaced by its value; any other `$` is kept as written.
    static func expandingVariables(_ text: String, _ environment: [String: String]) -> String {
        func isWord(_ c: Character) -> Bool { c.isASCII && (c.isLetter || c.isNumber || c == "_") }
        var result = ""
        var rest = Substring(text)
        while let dollar = rest.firstIndex(of: "$") {
            result += rest[..<dollar]
            let after = rest[rest.index(after: dollar)...]
            var name: Substring = ""
            var end = after.startIndex
            if after.first == "{", let close = after.firstIndex(of: "}") {
                name = after[after.index(after: after.startIndex)..<close]
                end = after.index(after: close)
            } else {
                end = after.firstIndex { !isWord($0) } ?? after.endIndex
                name = after[..<end]
            }
            if !name.isEmpty, let value = environment[String(name)] {
                result += value
                rest = after[end...]
            } else {
                result += "$"
                rest = after
            }
        }
        return result + rest
    }

    /// huggingface_hub's `validate_repo_id`: `name` or `namespace/name`, each 1–96 of `[A-Za-z0-9_.-]`, starting
    /// and ending with a letter, digit or `_`; no `--` or `..`; not ending in `.git`.
    static func isValidRepoID(_ id: String) -> Bool {
        let parts = id.split(separator: "/", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), !id.contains("--"), !id.contains(".."), !id.hasSuffix(".git") else {
            return false
        }
        func isWord(_ c: Character) -> Bool { c.isASCII && (c.isLetter || c.isNumber || c == "_") }
        return parts.allSatisfy { part in
            guard (1...96).contains(part.count), let first = part.first, let last = part.last else { return false }
            return isWord(first) && isWord(last) && part.allSatisfy { isWord($0) || $0 == "-" || $0 == "." }
        }
    }

    /// huggingface_hub's `REGEX_COMMIT_HASH`: 40 lowercase hex digits.
    static func isCommitHash(_ text: String) -> Bool {
        text.utf8.count == 40 && text.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }

    /// A revision that stays inside the cache entry: not empty, not absolute, no `.` or `..` component.
    static func isSafeRevision(_ revision: String) -> Bool {
        !revision.isEmpty && !revision.hasPrefix("/")
            && revision.split(separator: "/", omittingEmptySubsequences: false).allSatisfy {
                !$0.isEmpty && $0 != "." && $0 != ".."
            }
    }
}
