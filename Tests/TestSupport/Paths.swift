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

/// A fresh, empty temporary directory for one test; tests run in parallel, so each gets its own.
public func makeTemporaryDirectory(_ label: String = "test") throws -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("metamerge-\(label)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
