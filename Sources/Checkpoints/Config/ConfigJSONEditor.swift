import Foundation
import JSONCore

/// Edits top-level keys of a `config.json` and keeps every other byte as the file spelled it.
///
/// `JSONSerialization` would re-serialise the whole object and write `30.0` as `30`, which transformers ≥ 5 rejects
/// for float fields (`final_logit_softcapping`, `router_jitter_noise`, …). The editor instead splices the new text
/// of a changed value into the original bytes: untouched keys, their order, spacing and number spellings stay byte
/// for byte; a changed value is written with the JSON type given (``Value/float(_:)`` always as a float, `1.0`
/// not `1`). A key that is absent is appended after the last member, indented as the first one is.
package struct ConfigJSONEditor {
    /// A new value for a key.
    package enum Value {
        case string(String)
        case int(Int)
        /// Written as a JSON float: `30.0`, `1e-05`; never an integer spelling. Must be finite.
        case float(Double)
        case bool(Bool)
        /// Elements as raw JSON texts (kept as some input spelled them), laid out as the array they replace.
        case array([String])
    }

    /// The file, for messages.
    package let url: URL
    /// The current text.
    package private(set) var bytes: [UInt8]
    private var layout: JSONLayout
    /// Whether any ``set(_:_:)`` changed the text.
    package private(set) var isChanged = false

    /// Parses `data`, which must be one JSON object.
    ///
    /// - Throws: ``CheckpointError`` (`badConfig`) naming `url` and the byte where the text stops being JSON.
    package init(data: Data, url: URL) throws {
        self.url = url
        self.bytes = [UInt8](data)
        self.layout = try Self.parse(bytes, url: url)
    }

    private static func parse(_ bytes: [UInt8], url: URL) throws -> JSONLayout {
        let layout: JSONLayout
        do {
            layout = try JSONLayout.parse(bytes)
        } catch {
            throw CheckpointError(.badConfig, url: url, "is not valid JSON (\(error)); expected a JSON object")
        }
        guard layout.kind == .object else { throw CheckpointError(.badConfig, url: url, "is not a JSON object") }
        return layout
    }

    /// The text as edited.
    package var data: Data { Data(bytes) }

    /// The raw JSON text of key `key`'s value (its last occurrence), when present.
    package func rawValue(_ key: String) -> String? {
        layout.member(key).map { text($0.value.range) }
    }

    /// Key `key`'s value when it is a string.
    package func string(_ key: String) -> String? {
        guard let value = layout.member(key)?.value, value.kind == .string else { return nil }
        return value.scalar
    }

    /// Key `key`'s value when it is a number written as an integer that fits `Int`.
    package func int(_ key: String) -> Int? {
        guard let value = layout.member(key)?.value, value.kind == .number, value.isInteger else { return nil }
        return value.scalar.flatMap { Int($0) }
    }

    /// Key `key`'s value when it is `true` or `false`.
    package func bool(_ key: String) -> Bool? {
        guard let value = layout.member(key)?.value, value.kind == .bool else { return nil }
        return value.scalar == "true"
    }

    /// The raw JSON texts of the elements of key `key`'s value, when it is an array.
    package func elements(_ key: String) -> [String]? {
        guard let value = layout.member(key)?.value, value.kind == .array else { return nil }
        return value.elements.map { text($0.range) }
    }

    /// Sets key `key` to `value`: every occurrence of the key is rewritten (JSON readers keep the last; none is left
    /// stale), or a member is appended when the key is absent. Nothing changes when the text would be the same.
    package mutating func set(_ key: String, _ value: Value) throws {
        let occurrences = layout.members.filter { $0.key == key }
        if occurrences.isEmpty {
            let new = Self.encode(value, replacing: nil, in: bytes)
            let insertion: [UInt8]
            let position: Int
            if let last = layout.members.last, let first = layout.members.first {
                // `,` + the whitespace before the first key + `"key"` + the first member's `: ` + value.
                let lead = Array(bytes[(layout.range.lowerBound + 1)..<first.keyRange.lowerBound])
                let separator = Array(bytes[first.keyRange.upperBound..<first.value.range.lowerBound])
                insertion = Array(",".utf8) + lead + Array(Self.quoted(key).utf8) + separator + Array(new.utf8)
                position = last.value.range.upperBound
            } else {
                insertion = Array((Self.quoted(key) + ": " + new).utf8)
                position = layout.range.lowerBound + 1
            }
            bytes.insert(contentsOf: insertion, at: position)
        } else {
            // Back to front, so the earlier ranges stay valid.
            var edited = false
            for member in occurrences.reversed() {
                let new = Self.encode(value, replacing: member.value, in: bytes)
                guard text(member.value.range) != new else { continue }
                bytes.replaceSubrange(member.value.range, with: Array(new.utf8))
                edited = true
            }
            guard edited else { return }
        }
        layout = try Self.parse(bytes, url: url)
        isChanged = true
    }

    private func text(_ range: Range<Int>) -> String {
        String(decoding: bytes[range], as: UTF8.self)
    }

    /// The JSON text of `value`; an array is laid out as the one it replaces (its spacing before the first element,
    /// between elements and after the last).
    private static func encode(_ value: Value, replacing old: JSONLayout?, in bytes: [UInt8]) -> String {
        switch value {
        case .string(let text): return quoted(text)
        case .int(let number): return String(number)
        case .bool(let flag): return flag ? "true" : "false"
        case .float(let number):
            precondition(number.isFinite, "config.json cannot hold a non-finite number")
            let text = "\(number)"
            return text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) ? text : text + ".0"
        case .array(let elements):
            guard !elements.isEmpty else { return "[]" }
            var lead = "", between = ", ", trail = ""
            if let old, old.kind == .array, let first = old.elements.first, let last = old.elements.last {
                func slice(_ range: Range<Int>) -> String { String(decoding: bytes[range], as: UTF8.self) }
                lead = slice((old.range.lowerBound + 1)..<first.range.lowerBound)
                trail = slice(last.range.upperBound..<(old.range.upperBound - 1))
                if old.elements.count > 1 {
                    between = slice(old.elements[0].range.upperBound..<old.elements[1].range.lowerBound)
                }
            }
            return "[" + lead + elements.joined(separator: between) + trail + "]"
        }
    }

    /// `text` as a JSON string: quotes, backslashes and control characters escaped, everything else as is.
    static func quoted(_ text: String) -> String { jsonQuoted(text) }
}
