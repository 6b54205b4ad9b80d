import Checkpoints
import Foundation
import JSONCore
import TestSupport
import Testing

/// A `CheckpointError` that wraps a Foundation error keeps it as `cause`, beside the one-line message.
@Suite("CheckpointError keeps the error it wraps")
struct CheckpointErrorCauseTests {
    /// A model directory with one weight file, and `config.json` / the index as given.
    static func model(config: String? = nil, index: String? = nil) throws -> URL {
        let dir = try makeTemporaryDirectory("cause")
        let model = try ModelDirectoryBuilder(dir)
        try model.write("model.safetensors", [("a.weight", [2])])
        if let config { try Data(config.utf8).write(to: dir.appendingPathComponent("config.json")) }
        if let index { try Data(index.utf8).write(to: dir.appendingPathComponent("model.safetensors.index.json")) }
        return dir
    }

    /// config.json is read by the strict JSON core: the cause is its syntax error (what was expected, and where).
    @Test func configThatIsNotJSONKeepsTheParserError() throws {
        let dir = try Self.model(config: #"{"hidden_size": "#)
        let error = try #require(throws: CheckpointError.self) { try Checkpoint(directory: dir) }
        #expect(error.kind == .badConfig)
        #expect(error.message.hasPrefix("is not valid JSON ("))
        let cause = try #require(error.cause as? ModelConfig.ParseFailure)
        #expect(cause.cause?.offset == 16)
        #expect(
            error.message
                == "is not valid JSON (unexpected end of input, expected a value at byte 16); expected a JSON object")
    }

    @Test func unreadableConfigKeepsTheReadError() throws {
        let dir = try Self.model()
        // config.json exists, but is a directory: it cannot be read as a file.
        let config = dir.appendingPathComponent("config.json")
        try FileManager.default.removeItem(at: config)
        try FileManager.default.createDirectory(at: config, withIntermediateDirectories: false)
        let error = try #require(throws: CheckpointError.self) { try Checkpoint(directory: dir) }
        #expect(error.kind == .unreadableFile)
        let cause = try #require(error.cause)
        #expect((cause as NSError).domain == NSCocoaErrorDomain)
        // The reason in words, not Foundation's "The operation could not be completed. (NSCocoaErrorDomain …)".
        #expect(error.message == "cannot read the file: is a directory; expected a file")
    }

    @Test func indexThatIsNotJSONKeepsTheParserError() throws {
        let dir = try Self.model(index: #"{"weight_map": "#)
        let error = try #require(throws: CheckpointError.self) { try Checkpoint(directory: dir) }
        #expect(error.kind == .badIndex)
        let cause = try #require(error.cause as? ModelConfig.ParseFailure)
        #expect(cause.cause?.offset == 15)
        #expect(error.message == "is not valid JSON (unexpected end of input, expected a value at byte 15)")
    }

    @Test func equalityComparesKindPathTensorAndMessageButNotCause() {
        let url = URL(fileURLWithPath: "/m/config.json")
        let wrapped = CheckpointError(
            .badConfig, url: url, "is not valid JSON", cause: CocoaError(.fileReadCorruptFile))
        #expect(wrapped == CheckpointError(.badConfig, url: url, "is not valid JSON"))
        #expect(wrapped != CheckpointError(.badConfig, url: url, "is not a JSON object"))
        #expect(wrapped != CheckpointError(.badConfig, url: url, tensor: "a", "is not valid JSON"))
        #expect(wrapped != CheckpointError(.unreadableFile, url: url, "is not valid JSON"))
    }
}
