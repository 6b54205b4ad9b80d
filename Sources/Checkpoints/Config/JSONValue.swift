import Foundation
import JSONCore

/// A JSON value as read from `config.json`: keeps every key, known or not, so nothing a model declares is lost.
public enum JSONValue: Sendable, Hashable, Codable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let value):
            if value.rounded() == value, abs(value) < 9.0e15 {
                try container.encode(Int64(value))
            } else {
                try container.encode(value)
            }
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    /// The value as an integer, when it is a number with no fractional part.
    public var intValue: Int? {
        if case .number(let value) = self, value.rounded() == value, abs(value) < 9.0e15 { return Int(value) }
        return nil
    }

    /// The value as a floating-point number, when it is a number.
    public var doubleValue: Double? {
        if case .number(let value) = self { return value }
        return nil
    }

    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    public var objectValue: [String: JSONValue]? {
        if case .object(let value) = self { return value }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let value) = self { return value }
        return nil
    }
}

extension JSONValue {
    /// The value of a strictly parsed ``JSONNode``: numbers as `Double`, an object's duplicate keys resolved as
    /// Python's `json` does (the last one counts). `nil` when a number does not fit a finite `Double` (`1e400`),
    /// which Foundation's `JSONDecoder` refuses.
    package init?(_ node: JSONNode) {
        switch node {
        case .null: self = .null
        case .bool(let value): self = .bool(value)
        case .string(let value): self = .string(value)
        case .number(let number):
            guard let value = Double(number.text), value.isFinite else { return nil }
            self = .number(value)
        case .array(let elements):
            var values: [JSONValue] = []
            values.reserveCapacity(elements.count)
            for element in elements {
                guard let value = JSONValue(element) else { return nil }
                values.append(value)
            }
            self = .array(values)
        case .object(let members):
            guard let object = Self.object(members) else { return nil }
            self = .object(object)
        }
    }

    /// The members of an object as a dictionary (the last of duplicate keys counts); `nil` as ``init(_:)``.
    package static func object(_ members: [JSONNode.Member]) -> [String: JSONValue]? {
        var object: [String: JSONValue] = [:]
        object.reserveCapacity(members.count)
        for member in members {
            guard let value = JSONValue(member.value) else { return nil }
            object[member.key] = value
        }
        return object
    }
}
