import Foundation
import TestSupport
import Testing

/// Usage errors are bad input like any other: one line on stderr that names the command and what is wrong, exit 2
/// (ArgumentParser's own text is three lines: "Error: …", the synopsis, "See … --help").
@Suite("Usage errors: one line, exit 2")
struct UsageErrorTests {
    @Test(arguments: [
        (["probe"], "metamerge probe: give a config file"),
        (["inspect"], "metamerge inspect: Missing expected argument"),
        (["analyze", "--bogus"], "metamerge analyze: "),
        (["frobnicate"], "metamerge: Unexpected argument 'frobnicate'"),
        (["--nope"], "metamerge: Unknown option '--nope'"),
        (["probe", "--base", "b", "--model", "a=m", "--alphas", "0,0", "-o", "x.h5"], "metamerge probe: --alphas"),
        (["merge", "c.yml"], "metamerge merge: "),
    ])
    func oneLine(arguments: [String], start: String) throws {
        let result = try MetaMergeProcess.run(arguments)
        #expect(result.status == 2)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(result.stderr)")
        #expect(result.stderr.hasPrefix(start), "\(result.stderr)")
        #expect(result.stderr.contains("--help')"), "\(result.stderr)")
        #expect(!result.stderr.contains("Usage:"))
    }
}
