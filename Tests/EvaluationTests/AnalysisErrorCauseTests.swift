import Foundation
import HDF5
import JSONCore
import TestSupport
import Testing
import Tokenizers

@testable import Evaluation
@testable import Statistics

/// An `AnalysisError` that wraps another error — HDF5's, a read or JSON error, a `TokenizerError` for one line —
/// keeps it as `cause`; a refusal that wraps nothing has none.
@Suite("AnalysisError keeps the error it wraps")
struct AnalysisErrorCauseTests {
    /// WordLevel over two words, no unk_token: any other word fails to encode.
    static let tokenizer = try! Tokenizer(
        json: Array(
            (#"{"model": {"type": "WordLevel", "vocab": {"a": 0, "b": 1}}, "#
                + #""pre_tokenizer": {"type": "WhitespaceSplit"}}"#).utf8),
        path: "t/tokenizer.json")

    /// What `EvalTask.load` throws for a task file holding `contents` (no file when `nil`), and the file's path.
    static func taskError(_ contents: String?) throws -> (path: String, error: AnalysisError) {
        let url = try makeTemporaryDirectory("cause").appendingPathComponent("task.jsonl")
        if let contents { try Data(contents.utf8).write(to: url) }
        let error = try #require(throws: AnalysisError.self) {
            try EvalTask.load(name: "t", url: url, tokenizer: tokenizer, vocabularySize: 2, maxLength: 16)
        }
        return (url.path, error)
    }

    @Test func fileThatIsNotHDF5KeepsTheHDF5Error() throws {
        let url = try makeTemporaryDirectory("cause").appendingPathComponent("text.h5")
        try Data("not hdf5".utf8).write(to: url)
        let error = try #require(throws: AnalysisError.self) { try AnalysisReport.read(from: url) }
        let cause = try #require(error.cause as? HDF5Error)
        #expect(cause.reason == .notHDF5File)
        #expect(error == .badReport(path: url.path, detail: "not a readable HDF5 file (\(cause))"))
    }

    @Test func reportWithoutItsAttributesKeepsTheHDF5Error() throws {
        let url = try makeTemporaryDirectory("cause").appendingPathComponent("foreign.h5")
        let file = try HDF5File.create(at: url)
        try file.root.createDataset("x", values: [1.0, 2.0])
        try file.close()
        let error = try #require(throws: AnalysisError.self) { try AnalysisReport.read(from: url) }
        guard case .badReport = error else {
            Issue.record("expected badReport, got \(error)")
            return
        }
        let cause = try #require(error.cause as? HDF5Error)
        #expect(cause.reason == .missingAttribute)
        #expect(cause.attribute == "format")
    }

    /// A file with the attributes but another format wraps nothing: there is no cause to keep.
    @Test func reportOfAnotherFormatHasNoCause() throws {
        let url = try makeTemporaryDirectory("cause").appendingPathComponent("other.h5")
        let file = try HDF5File.create(at: url)
        try file.root.setAttribute("format", "other-tool")
        try file.root.setAttribute("schema_version", Int64(1))
        try file.close()
        let error = try #require(throws: AnalysisError.self) { try AnalysisReport.read(from: url) }
        #expect("\(error)".contains("an HDF5 file but not a MetaMerge report"))
        #expect(error.cause == nil)
    }

    @Test func reportThatCannotBeWrittenKeepsTheWriteError() throws {
        let url = try makeTemporaryDirectory("cause").appendingPathComponent("missing/report.h5")
        let error = try #require(throws: AnalysisError.self) {
            try AnalysisReport.writeAtomically(to: url) { _ in }
        }
        guard case .writeFailed(let path, _, _) = error else {
            Issue.record("expected writeFailed, got \(error)")
            return
        }
        #expect(path == url.path)
        let cause = try #require(error.cause)
        #expect((cause as NSError).domain == NSCocoaErrorDomain)
    }

    @Test func missingTaskFileKeepsTheReadError() throws {
        let (path, error) = try Self.taskError(nil)
        #expect(error == .badArgument("\(path): cannot read the task file (missing or unreadable)"))
        let cause = try #require(error.cause as? CocoaError)
        #expect(cause.code == .fileReadNoSuchFile)
    }

    @Test func taskLineThatIsNotJSONKeepsTheParserError() throws {
        let (path, error) = try Self.taskError("{\"prompt\": \"a\", \"completion\": \"b\"}\n{\"prompt\": \n")
        #expect("\(error)".hasPrefix("\(path):2: not a JSON object"))
        let cause = try #require(error.cause as? JSONSyntaxError)
        #expect(cause.offset == 11)
    }

    /// A line that is JSON but not an object wraps nothing.
    @Test func taskLineThatIsNotAnObjectHasNoCause() throws {
        let (path, error) = try Self.taskError("[1, 2]\n")
        #expect("\(error)".hasPrefix("\(path):1: not a JSON object"))
        #expect(error.cause == nil)
    }

    @Test func taskLineTheTokenizerRefusesKeepsTheTokenizerError() throws {
        let (path, error) = try Self.taskError("{\"prompt\": \"a\", \"completion\": \"c\"}\n")
        let cause = try #require(error.cause as? TokenizerError)
        #expect(error == .badArgument("\(path):1: \(cause.message)"))
    }

    @Test func promptLineThatIsNotJSONKeepsTheParserError() throws {
        let url = try makeTemporaryDirectory("cause").appendingPathComponent("prompts.jsonl")
        try Data("{\"text\": \n".utf8).write(to: url)
        let error = try #require(throws: AnalysisError.self) { try PromptSource.texts(url) }
        #expect(error == .badArgument("\(url.path):1: not a JSON object with a \"text\" string"))
        let cause = try #require(error.cause as? JSONSyntaxError)
        #expect(cause.offset == 9)
    }

    @Test func equalityComparesCaseAndValuesButNotCause() {
        let cause = CocoaError(.fileReadCorruptFile)
        #expect(AnalysisError.badReport(path: "p", detail: "d", cause: cause) == .badReport(path: "p", detail: "d"))
        #expect(AnalysisError.badReport(path: "p", detail: "d") != .badReport(path: "p", detail: "e"))
        #expect(AnalysisError.badReport(path: "p", detail: "d") != .writeFailed(path: "p", detail: "d"))
        #expect(AnalysisError.writeFailed(path: "p", detail: "d", cause: cause) == .writeFailed(path: "p", detail: "d"))
        #expect(AnalysisError.badArgument("m", cause: cause) == .badArgument("m"))
        #expect(AnalysisError.badArgument("m") != .familyMismatch("m"))
        #expect(AnalysisError.familyMismatch("m") == .familyMismatch("m"))
        #expect(
            AnalysisError.newerSchema(path: "p", found: 2, supported: 1)
                != .newerSchema(path: "p", found: 3, supported: 1))
    }
}
