import Checkpoints
import Foundation
import Testing

@Suite("ConfigJSONEditor: changed keys spliced in, every other byte kept")
struct ConfigJSONEditorTests {
    static let url = URL(fileURLWithPath: "/m/config.json")

    static func edited(_ text: String, _ edit: (inout ConfigJSONEditor) throws -> Void) throws -> String {
        var editor = try ConfigJSONEditor(data: Data(text.utf8), url: url)
        try edit(&editor)
        return String(decoding: editor.data, as: UTF8.self)
    }

    @Test func replacesOneValueAndKeepsTheRest() throws {
        let text = "{\n  \"a\": 30.0,\n  \"b\" : 1e-05,\n  \"n\": 4\n}\n"
        let expected = "{\n  \"a\": 30.0,\n  \"b\" : 1e-05,\n  \"n\": 3\n}\n"
        #expect(try Self.edited(text) { try $0.set("n", .int(3)) } == expected)
    }

    @Test("floats are written as floats", arguments: [(30.0, "30.0"), (0.0, "0.0"), (1e-05, "1e-05"), (0.5, "0.5")])
    func floatsStayFloats(value: Double, text: String) throws {
        #expect(try Self.edited("{\"x\": 1}") { try $0.set("x", .float(value)) } == "{\"x\": \(text)}")
    }

    @Test func appendsAnAbsentKeyInTheLayoutOfTheFirst() throws {
        #expect(
            try Self.edited("{\n    \"a\": 1\n}") { try $0.set("b", .string("x\"y")) }
                == "{\n    \"a\": 1,\n    \"b\": \"x\\\"y\"\n}")
        #expect(try Self.edited("{}") { try $0.set("b", .bool(true)) } == "{\"b\": true}")
    }

    @Test func arraysKeepTheirLayout() throws {
        let text = "{\"l\": [\n    1,\n    2,\n    3\n  ]}"
        #expect(try Self.edited(text) { try $0.set("l", .array(["3", "1"])) } == "{\"l\": [\n    3,\n    1\n  ]}")
        #expect(try Self.edited(text) { try $0.set("l", .array([])) } == "{\"l\": []}")
    }

    @Test func everyDuplicateIsRewrittenAndAnUnchangedValueLeavesTheTextAlone() throws {
        #expect(try Self.edited("{\"a\": 1, \"a\": 2}") { try $0.set("a", .int(5)) } == "{\"a\": 5, \"a\": 5}")
        var editor = try ConfigJSONEditor(data: Data("{\"a\": 1}".utf8), url: Self.url)
        try editor.set("a", .int(1))
        #expect(!editor.isChanged)
    }

    @Test func refusesTextThatIsNotAJSONObject() {
        for text in ["[1]", "{\"a\": }", "{\"a\": 1,}", ""] {
            #expect(throws: CheckpointError.self) { try ConfigJSONEditor(data: Data(text.utf8), url: Self.url) }
        }
    }
}
