import Checkpoints
import Foundation
import SafeTensors
import Statistics

/// The demo's files: its output directory (marked as its own), the notebooks' directory and export, and the
/// bundled family.
enum DemoFiles {
    /// The name of the file that marks a directory as the demo's own: only such a directory, an empty one or a
    /// new one is written into.
    static let marker = ".metamerge-demo"

    /// Creates `output` (marked as the demo's), or accepts an existing one that is empty or marked; refuses any
    /// other existing path and one that overlaps the family, so a rerun never replaces a user's files.
    static func prepareOutputDirectory(_ output: URL, family: URL) throws {
        try validateOutputPath(output.path)
        try OutputPath.refuseOverlap(output, inputs: [family], what: "the demo's output directory")
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        if manager.fileExists(atPath: output.path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw CheckpointError(
                    .unsafePath, url: output, "exists and is not a directory; the demo needs a directory")
            }
            let entries = try manager.contentsOfDirectory(atPath: output.path)
            guard entries.isEmpty || entries.contains(marker) else {
                throw CheckpointError(
                    .unsafePath, url: output,
                    "is a non-empty directory the demo did not make; give a new or empty directory")
            }
        } else {
            do {
                try manager.createDirectory(at: output, withIntermediateDirectories: true)
            } catch {
                throw CheckpointError(
                    .writeFailed, url: output,
                    "cannot create the directory: \(FileErrorReason.reason(error, url: output))", cause: error)
            }
        }
        try Data("written by metamerge demo; a rerun replaces what it wrote here\n".utf8)
            .write(to: output.appendingPathComponent(marker))
    }

    /// Refuses the demo's `notebooks/` directory unless it is new or an earlier export made it (it holds
    /// ``marker``): the export replaces the files it writes there.
    static func checkNotebooksDirectory(_ url: URL) throws {
        guard FileManager.default.fileExists(atPath: url.path) else { return }
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
        guard entries.contains(marker) else {
            throw CheckpointError(
                .unsafePath, url: url,
                "exists and the demo's notebook export did not make it (no \(marker) inside); it would replace "
                    + "files there — move it or give another demo directory")
        }
    }

    /// Runs `notebooks-export/export.py` (found beside the family's repository checkout) with `python`.
    static func exportNotebooks(python: String, report: URL, output: URL, maxCosine: Double) throws {
        let family = try locateFamily(nil)
        let script = family.deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("notebooks-export/export.py")
        guard FileManager.default.fileExists(atPath: script.path) else {
            throw AnalysisError.badArgument("cannot find notebooks-export/export.py next to \(family.path)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [
            script.path, "--report", report.path, "--out", output.path, "--max-cosine", String(maxCosine),
        ]
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw AnalysisError.badArgument(
                "exporting the notebooks failed (exit \(process.terminationStatus)); see above")
        }
    }

    /// The family folder: the option, else `examples/tiny-family` under the working directory or beside the
    /// executable's package checkout.
    static func locateFamily(_ given: String?) throws -> URL {
        if let given { return URL(fileURLWithPath: given) }
        var candidates = [URL(fileURLWithPath: "examples/tiny-family")]
        var folder = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent()
        for _ in 0..<5 {
            candidates.append(folder.appendingPathComponent("examples/tiny-family"))
            folder = folder.deletingLastPathComponent()
        }
        guard
            let found = candidates.first(where: {
                FileManager.default.fileExists(atPath: $0.appendingPathComponent("base").path)
            })
        else {
            throw AnalysisError.badArgument(
                "cannot find the bundled family examples/tiny-family; pass --family DIR")
        }
        return found.standardizedFileURL
    }
}
