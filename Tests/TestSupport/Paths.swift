import Foundation

/// Locations inside the repository, found from this source file's path so tests run from any working directory.
public enum RepositoryPaths {
    /// The repository root (the folder holding `Package.swift`).
    public static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // TestSupport
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()

    /// `Tests/Fixtures`: reference files produced by the scripts under `scripts/fixtures/`.
    public static let fixtures: URL = root.appendingPathComponent("Tests/Fixtures")

    /// `examples/tiny-family`: the bundled model family.
    public static let tinyFamily: URL = root.appendingPathComponent("examples/tiny-family")
}

/// A fresh, empty temporary directory for one test; tests run in parallel, so each gets its own. All of them sit
/// under one folder per test process (`metamerge-tests-<pid>`), removed when the process exits; folders left by test
/// processes that no longer run (a crash, a kill) are removed when the next one starts, so repeated `make test` runs
/// do not fill the temporary directory.
public func makeTemporaryDirectory(_ label: String = "test") throws -> URL {
    let url = TestScratch.root.appendingPathComponent("\(label)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

enum TestScratch {
    static let prefix = "metamerge-tests-"

    /// Created once per process; the first use removes the folders of dead test processes and arranges removal of
    /// this one at exit.
    static let root: URL = {
        let fileManager = FileManager.default
        let temporary = fileManager.temporaryDirectory
        let names = (try? fileManager.contentsOfDirectory(atPath: temporary.path)) ?? []
        for name in names where name.hasPrefix(prefix) {
            guard let pid = Int32(name.dropFirst(prefix.count)), pid != getpid() else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH {
                try? fileManager.removeItem(at: temporary.appendingPathComponent(name))
            }
        }
        let root = temporary.appendingPathComponent("\(prefix)\(getpid())")
        atexit { try? FileManager.default.removeItem(at: TestScratch.root) }
        return root
    }()
}
