import Foundation
import JSONCore
import TestSupport
import Testing

@testable import SafeTensors

/// A `SafeTensorsError` that wraps another error keeps it as `cause`: a header that is not JSON keeps the
/// parser's syntax error (what was expected, and where).
@Suite("SafeTensorsError keeps the error it wraps")
struct SafeTensorsErrorCauseTests {
    @Test func headerThatIsNotJSONKeepsTheSyntaxError() throws {
        let url = try makeTemporaryDirectory("cause").appendingPathComponent("bad.safetensors")
        let header = Array(#"{"a": {"dtype": "F32",}}"#.utf8)
        var length = UInt64(header.count).littleEndian
        try (Data(bytes: &length, count: 8) + Data(header)).write(to: url)
        let error = try #require(throws: SafeTensorsError.self) { try SafeTensorsFile(url: url) }
        #expect(error.kind == .headerNotJSON)
        let cause = try #require(error.cause as? JSONSyntaxError)
        // The trailing comma: the parser stops at the `}` after it, header byte 22.
        #expect(cause.offset == 22)
        #expect(error.detail == "header is not valid JSON: \(cause.message) at header offset 22")
    }

    @Test func equalityAndHashIgnoreTheCause() {
        let url = URL(fileURLWithPath: "/m/model.safetensors")
        let wrapped = SafeTensorsError(
            .headerNotJSON, file: url, "header is not valid JSON", cause: CocoaError(.coderReadCorrupt))
        let bare = SafeTensorsError(.headerNotJSON, file: url, "header is not valid JSON")
        #expect(wrapped == bare)
        #expect(Set([wrapped, bare]).count == 1)
        #expect(wrapped != SafeTensorsError(.headerNotJSON, file: url, tensor: "a", "header is not valid JSON"))
        #expect(wrapped != SafeTensorsError(.headerNotObject, file: url, "header is not valid JSON"))
    }
}
