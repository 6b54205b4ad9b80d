import Foundation
import TestSupport

/// Small tmpfs mounts for the full-disk test (root with the right to mount only).
enum Tmpfs {
    /// Whether a tmpfs can be mounted here: tried once, on a scratch directory, before the tests that need one run
    /// (they are reported as skipped otherwise). `METAMERGE_TEST_NO_MOUNT=1` says no, to check that path.
    static let canMount: Bool = {
        if ProcessInfo.processInfo.environment["METAMERGE_TEST_NO_MOUNT"] == "1" { return false }
        guard let probe = try? makeTemporaryDirectory("tmpfs-probe"), (try? mount(at: probe, bytes: 4096)) == true
        else { return false }
        unmount(probe)
        return true
    }()

    /// Mounts a tmpfs of `bytes` at `directory`; false when `mount` refuses.
    static func mount(at directory: URL, bytes: Int) throws -> Bool {
        try run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(bytes)", "tmpfs", directory.path]) == 0
    }

    static func unmount(_ directory: URL) {
        _ = try? run("/bin/umount", [directory.path])
    }

    private static func run(_ tool: String, _ arguments: [String]) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }
}
