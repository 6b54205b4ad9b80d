import Foundation
import TestSupport
import Testing

/// The manifest is read by the one strict JSON reader: a manifest whose entries are of the wrong kind (a size given
/// as a string, a key given twice) is refused as unreadable, one line, exit 2, the output left as it is.
@Suite("Output manifests read strictly")
struct ManifestReadingTests {
    @Test(arguments: [
        (#""size": [0-9]+"#, #""size": "1""#, "files[0].size: expected a non-negative integer"),
        (#""format": "metamerge-output""#, #""format": "metamerge-output", "format": "metamerge-output""#,
         "'format': expected one value"),
    ])
    func aDamagedManifestIsRefused(original: String, damaged: String, named: String) throws {
        let family = try FamilyCopy("manifest-read", tasks: ["add", "rev"])
        let config = try family.config()
        let out = family.workspace.appendingPathComponent("merged")
        let first = try MetaMergeProcess.run(["merge", config.path, out.path, "--quiet"])
        #expect(first.status == 0, "\(first.stderr)")
        let manifest = out.appendingPathComponent(".metamerge-manifest.json")
        var text = try String(contentsOf: manifest, encoding: .utf8)
        text = text.replacingOccurrences(of: #""size" : "#, with: #""size": "#)
        text = text.replacingOccurrences(of: #""format" : "#, with: #""format": "#)
        guard let range = text.range(of: original, options: .regularExpression) else {
            Issue.record("manifest has no \(original): \(text)")
            return
        }
        text.replaceSubrange(range, with: damaged)
        try Data(text.utf8).write(to: manifest)
        let before = try FamilyCopy.snapshot(out)

        let result = try MetaMergeProcess.run(["merge", config.path, out.path, "--overwrite", "--quiet"])
        #expect(result.status == 2, "\(result.stderr)")
        #expect(result.stderr.contains("is not a readable metamerge manifest"), "\(result.stderr)")
        #expect(result.stderr.contains(named), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1)
        #expect(try FamilyCopy.snapshot(out) == before)
    }
}
