import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The rules every output path follows: an output never destroys what the tool did not create.
///
/// - An empty path, an existing directory (for a file output), an input file or directory, an ancestor of an
///   input, or a path inside an input directory is refused.
/// - Results are written inside a temporary sibling directory `.<name>.partial-<pid>-<uuid>` (see
///   ``makeTemporary(for:)``), which holds this tool's marker file from the moment it exists, and renamed into place
///   only when complete; the temporary is registered with ``TemporaryOutputs`` so SIGINT / SIGTERM remove it.
/// - A temporary left by a process that is no longer running (a SIGKILL, a crash) is removed by the next write to
///   the same destination, which says so — only when it carries the marker written for exactly that name (or is an
///   empty directory: a process killed while creating it); one whose process still runs is left alone, and anything
///   else of that name is named and left alone.
public enum OutputPath {
    /// `url` as an absolute path with symbolic links resolved in the part that exists.
    public static func resolved(_ url: URL) -> String {
        var existing = url.standardizedFileURL
        var tail: [String] = []
        while !FileManager.default.fileExists(atPath: existing.path), existing.path != "/" {
            tail.insert(existing.lastPathComponent, at: 0)
            existing = existing.deletingLastPathComponent()
        }
        var path = existing.resolvingSymlinksInPath().path
        for component in tail { path = (path as NSString).appendingPathComponent(component) }
        return path
    }

    private static func isInside(_ path: String, _ folder: String) -> Bool {
        folder == "/" ? path != "/" : path.hasPrefix(folder + "/")
    }

    /// Refuses an output that is an input, contains an input, or lies inside an input directory.
    ///
    /// - Parameters:
    ///   - inputs: every file and directory the command reads (model directories, weight files, configs).
    ///   - what: how the message names the output (`-o`, `OUT_DIR`).
    public static func refuseOverlap(_ output: URL, inputs: [URL], what: String) throws {
        let out = resolved(output)
        let paths = inputs.map { ($0, resolved($0)) }
        if let (input, _) = paths.first(where: { $0.1 == out }) {
            throw CheckpointError(
                .unsafePath, url: output,
                "\(what) is an input of this command (\(input.path)); refusing to overwrite it")
        }
        if let (input, _) = paths.first(where: { isInside($0.1, out) }) {
            throw CheckpointError(
                .unsafePath, url: output,
                "\(what) contains an input of this command (\(input.path)); refusing to replace it")
        }
        for (input, path) in paths where isInside(out, path) {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
                throw CheckpointError(
                    .unsafePath, url: output,
                    "\(what) is inside the input directory \(input.path); inputs are never modified — write elsewhere")
            }
        }
    }

    /// Checks a single-file output (a report): not empty, not an existing directory, not overlapping an input,
    /// and, when a file already exists there, one this tool wrote (`isOwnKind`) — which is then replaced by
    /// `rename(2)` when the new one is complete.
    public static func checkFileDestination(
        _ output: URL, inputs: [URL], what: String, kind: String, isOwnKind: (URL) -> Bool
    ) throws {
        try checkNotEmpty(output.path, what: what)
        try refuseOverlap(output, inputs: inputs, what: what)
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: output.path, isDirectory: &isDirectory) {
            if isDirectory.boolValue {
                throw CheckpointError(
                    .unsafePath, url: output,
                    "\(what) is an existing directory; give a file path such as \(output.path)/report.h5")
            }
            guard isOwnKind(output) else {
                throw CheckpointError(
                    .unsafePath, url: output,
                    "\(what) exists and is not a \(kind); refusing to replace a file MetaMerge did not write")
            }
        }
        let parent = output.deletingLastPathComponent()
        guard FileManager.default.fileExists(atPath: parent.path, isDirectory: &isDirectory), isDirectory.boolValue
        else {
            throw CheckpointError(.writeFailed, url: parent, "the directory of \(what) does not exist")
        }
    }

    /// Refuses an empty output path (`-o ""` names the working directory).
    public static func checkNotEmpty(_ path: String, what: String) throws {
        if path.trimmingCharacters(in: .whitespaces).isEmpty {
            throw CheckpointError(.badArgument, url: URL(fileURLWithPath: "."), "\(what) is empty; give a path")
        }
    }

    /// A fresh temporary sibling of `destination`: `.<name>.partial-<pid>-<uuid>`.
    public static func temporarySibling(of destination: URL) -> URL {
        destination.deletingLastPathComponent()
            .appendingPathComponent(".\(destination.lastPathComponent).partial-\(getpid())-\(UUID().uuidString)")
    }

    /// The name of the marker file inside every temporary directory this tool creates.
    public static let partialMarker = ".metamerge-partial"

    /// The marker's exact contents for the temporary named `name`: a directory is this tool's temporary only when
    /// its marker reads exactly this.
    static func markerContents(forTemporaryNamed name: String) -> Data {
        Data("metamerge temporary output \(name): removed when its process has ended\n".utf8)
    }

    /// Creates a temporary for `destination`: a new directory ``temporarySibling(of:)`` holding the
    /// ``partialMarker`` file, registered with ``TemporaryOutputs``. The caller writes its result inside (at
    /// ``item(in:)``) and moves it into place; removing the directory removes everything.
    ///
    /// - Throws: a `CheckpointError` (`.writeFailed`) when the directory or its marker cannot be created.
    public static func makeTemporary(for destination: URL) throws -> URL {
        let temporary = temporarySibling(of: destination)
        do {
            try FileManager.default.createDirectory(at: temporary, withIntermediateDirectories: false)
            TemporaryOutputs.register(temporary)
            try markerContents(forTemporaryNamed: temporary.lastPathComponent)
                .write(to: temporary.appendingPathComponent(partialMarker))
        } catch {
            TemporaryOutputs.unregister(temporary)
            try? FileManager.default.removeItem(at: temporary)
            throw CheckpointError(
                .writeFailed, url: temporary, "cannot create the temporary output: \(error.localizedDescription)",
                cause: error)
        }
        return temporary
    }

    /// Where inside a temporary made by ``makeTemporary(for:)`` the result is written.
    public static func item(in temporary: URL) -> URL { temporary.appendingPathComponent("output") }

    /// Removes temporaries of `destination` left by processes that no longer run — only a directory (not a link)
    /// named `.<name>.partial-<pid>-<uuid>` whose process `pid` has ended and that ``isOwnTemporary(_:)``. Returns
    /// one note per removal, and names (without touching) every other entry of that pattern whose process has ended
    /// or whose name it cannot parse.
    public static func removeStalePartials(of destination: URL) -> [String] {
        let parent = destination.deletingLastPathComponent()
        let prefix = ".\(destination.lastPathComponent).partial-"
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: parent.path) else { return [] }
        var notes: [String] = []
        for entry in entries.sorted() where entry.hasPrefix(prefix) {
            let rest = entry.dropFirst(prefix.count)
            let url = parent.appendingPathComponent(entry)
            let leftAlone =
                "\(url.path) looks like an interrupted output but does not carry metamerge's marker "
                + "(\(partialMarker)); left alone — remove it yourself if nothing is writing it"
            guard let dash = rest.firstIndex(of: "-"), let pid = Int32(rest[..<dash]),
                UUID(uuidString: String(rest[rest.index(after: dash)...])) != nil
            else {
                notes.append(leftAlone)
                continue
            }
            if kill(pid, 0) == 0 || errno == EPERM { continue }  // its writer still runs
            guard isOwnTemporary(url) else {
                notes.append(leftAlone)
                continue
            }
            if (try? FileManager.default.removeItem(at: url)) != nil {
                notes.append("removed \(url.path), left by an interrupted run (process \(pid) no longer runs)")
            }
        }
        return notes
    }

    /// Whether `url` is a temporary this tool left: a directory (not a link) holding ``partialMarker`` with the
    /// contents written for its name — or, from a process killed while creating it, an empty directory or one that
    /// holds nothing but a marker whose contents are the start of those (removing either destroys no data).
    static func isOwnTemporary(_ url: URL) -> Bool {
        var status = stat()
        guard lstat(url.path, &status) == 0, status.st_mode & S_IFMT == S_IFDIR,
            let entries = try? FileManager.default.contentsOfDirectory(atPath: url.path)
        else { return false }
        if entries.isEmpty { return true }
        let marker = url.appendingPathComponent(partialMarker)
        guard lstat(marker.path, &status) == 0, status.st_mode & S_IFMT == S_IFREG, status.st_size < 4096,
            let contents = try? Data(contentsOf: marker)
        else { return false }
        let expected = markerContents(forTemporaryNamed: url.lastPathComponent)
        return contents == expected || (entries == [partialMarker] && expected.starts(with: contents))
    }

    private typealias RenameAt2 =
        @convention(c) (Int32, UnsafePointer<CChar>, Int32, UnsafePointer<CChar>, UInt32) -> Int32
    private static let renameat2: RenameAt2? = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "renameat2")
        .map { unsafeBitCast($0, to: RenameAt2.self) }

    /// Renames `source` to `destination` only when nothing exists there (atomic on Linux: `RENAME_NOREPLACE`).
    ///
    /// - Returns: `false` when `destination` already exists (another writer finished first).
    public static func renameNoReplace(_ source: URL, to destination: URL) throws -> Bool {
        if let renameat2 {
            if renameat2(AT_FDCWD, source.path, AT_FDCWD, destination.path, 1) == 0 { return true }
            if errno == EEXIST || errno == ENOTEMPTY { return false }
            if errno != EINVAL && errno != ENOSYS { throw renameError(source, destination) }
        }
        // Without RENAME_NOREPLACE (other systems, some file systems): check, then rename.
        if FileManager.default.fileExists(atPath: destination.path) { return false }
        guard rename(source.path, destination.path) == 0 else { throw renameError(source, destination) }
        return true
    }

    /// Atomically exchanges two existing paths (`RENAME_EXCHANGE`): at every instant one complete version exists
    /// under `destination`. Afterwards `source` holds the previous contents of `destination`.
    ///
    /// Where the exchange is unavailable, `destination` is first moved aside to `aside` and then replaced; a kill
    /// between the two leaves the previous version in `aside` (named in the next run's notes).
    public static func exchange(_ source: URL, with destination: URL, aside: URL) throws {
        if let renameat2, renameat2(AT_FDCWD, source.path, AT_FDCWD, destination.path, 2) == 0 { return }
        guard rename(destination.path, aside.path) == 0 else { throw renameError(destination, aside) }
        guard rename(source.path, destination.path) == 0 else {
            let error = renameError(source, destination)
            _ = rename(aside.path, destination.path)
            throw error
        }
        guard rename(aside.path, source.path) == 0 else { throw renameError(aside, source) }
    }

    private static func renameError(_ from: URL, _ to: URL) -> CheckpointError {
        CheckpointError(
            .writeFailed, url: to, "cannot rename \(from.path) into place: \(String(cString: strerror(errno)))")
    }
}

/// The temporaries this process is writing, removed on SIGINT / SIGTERM by the command line's signal handler.
///
/// Renaming a finished temporary into place goes through ``publish(_:_:)``, under the same lock as
/// ``removeAll()``: either the rename happens first (and the temporary is no longer registered) or the removal does
/// (and the rename is refused), so a signal never leaves a half-removed result under its final name.
public enum TemporaryOutputs {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var paths: Set<String> = []
    nonisolated(unsafe) private static var terminating = false

    public static func register(_ url: URL) {
        lock.lock()
        paths.insert(url.path)
        lock.unlock()
    }

    public static func unregister(_ url: URL) {
        lock.lock()
        paths.remove(url.path)
        lock.unlock()
    }

    /// Runs `rename` (which moves `temporary` into place) unless the process is being terminated, and unregisters
    /// `temporary`; both under the lock ``removeAll()`` takes.
    ///
    /// - Throws: a `CheckpointError` when a signal is ending the process, or what `rename` throws.
    public static func publish<R>(_ temporary: URL, _ rename: () throws -> R) throws -> R {
        lock.lock()
        defer { lock.unlock() }
        guard !terminating else {
            throw CheckpointError(.writeFailed, url: temporary, "interrupted by a signal; nothing was written")
        }
        let result = try rename()
        paths.remove(temporary.path)
        return result
    }

    /// Removes every registered temporary and refuses any later ``publish(_:_:)`` (from a signal handler's queue,
    /// not from the signal context itself).
    public static func removeAll() {
        lock.lock()
        defer { lock.unlock() }
        terminating = true
        for path in paths { try? FileManager.default.removeItem(atPath: path) }
        paths = []
    }
}
