import Foundation

/// One scalar in a config: a number, a boolean or a string, as YAML typed it.
public enum ParameterScalar: Sendable, Hashable, CustomStringConvertible {
    case number(Double)
    case bool(Bool)
    case string(String)

    public var description: String {
        switch self {
        case .number(let value): formatNumber(value)
        case .bool(let value): value ? "true" : "false"
        case .string(let value): value
        }
    }
}

/// A parameter's setting as MergeKit's YAML writes it (`ParameterSetting` in `mergekit/config.py`):
///
/// - a scalar (`weight: 0.5`);
/// - a **gradient**, a list of scalars interpolated over the layer index (`density: [0.2, 0.5, 0.9]`);
/// - a list of **conditionals** `{filter, value}` whose first match wins (`- filter: self_attn\n  value: 0.3`);
///   a single `{filter, value}` mapping is a one-element list.
///
/// See ``evaluate(tensorName:t:as:parameter:)`` for how a value is chosen for one tensor.
public indirect enum ParameterSetting: Sendable, Hashable {
    case scalar(ParameterScalar)
    case gradient([ParameterScalar])
    case conditional([Condition])

    /// `{filter, value}`: `value` applies to tensors whose name contains `filter` (every tensor when the filter is
    /// absent or `*`).
    public struct Condition: Sendable, Hashable {
        public let filter: String?
        /// A scalar or a gradient (MergeKit does not nest conditionals).
        public let value: ParameterSetting
        public init(filter: String?, value: ParameterSetting) {
            self.filter = filter
            self.value = value
        }
    }

    /// The value for tensor `tensorName` at layer position `t`, or `nil` when no conditional matches (the next
    /// source in precedence order is then consulted, as in MergeKit's `resolve_parameter`).
    ///
    /// As MergeKit 0.1.5's `evaluate_setting`:
    /// - a scalar is validated as `type`;
    /// - a gradient whose validated values are all numbers is interpolated linearly:
    ///   with s = t·(n − 1), i₀ = ⌊s⌋, i₁ = min(n − 1, i₀ + 1), f = s − i₀, the value is (1 − f)·v[i₀] + f·v[i₁];
    ///   a gradient of booleans or strings takes v[⌊t·(n − 1)⌋];
    /// - conditionals: the first whose filter is absent, `*`, or a substring of `tensorName` is evaluated.
    ///
    /// - Throws: ``MergeConfigError`` (`badValue`) naming the parameter when a value does not validate as `type`.
    public func evaluate(
        tensorName: String, t: Double, as type: ParameterType, parameter: String
    ) throws
        -> ParameterValue?
    {
        switch self {
        case .scalar(let scalar):
            return try type.validate(scalar, parameter: parameter)
        case .gradient(let scalars):
            let values = try scalars.map { try type.validate($0, parameter: parameter) }
            guard !values.isEmpty else { return nil }
            let numbers = values.compactMap(\.number)
            if numbers.count != values.count {
                return values[Int(t * Double(values.count - 1))]
            }
            let scaled = t * Double(numbers.count - 1)
            let i0 = Int(scaled)
            let i1 = min(numbers.count - 1, i0 + 1)
            let fraction = scaled - Double(i0)
            return .number((1 - fraction) * numbers[i0] + fraction * numbers[i1])
        case .conditional(let conditions):
            for condition in conditions {
                if condition.filter == nil || condition.filter == "*"
                    || (!tensorName.isEmpty && tensorName.contains(condition.filter!))
                {
                    return try condition.value.evaluate(tensorName: tensorName, t: t, as: type, parameter: parameter)
                }
            }
            return nil
        }
    }
}

/// The type a parameter's values must have.
public enum ParameterType: Sendable, Hashable {
    case float
    case bool
    /// One of the listed strings.
    case choice([String])

    /// Validates `scalar` as this type, as MergeKit's pydantic validation does for the cases configs use:
    /// floats accept numbers and numeric strings (`"1e-3"`); booleans accept true/false (and YAML's yes/no/on/off),
    /// 0 and 1; choices accept one of their strings.
    func validate(_ scalar: ParameterScalar, parameter: String) throws -> ParameterValue {
        switch (self, scalar) {
        case (.float, .number(let value)):
            return .number(value)
        case (.float, .string(let text)):
            if let value = Double(text.trimmingCharacters(in: .whitespaces)) { return .number(value) }
        case (.bool, .bool(let value)):
            return .bool(value)
        case (.bool, .number(let value)) where value == 0 || value == 1:
            return .bool(value == 1)
        case (.bool, .string(let text)):
            switch text.lowercased() {
            case "true", "yes", "on", "1": return .bool(true)
            case "false", "no", "off", "0": return .bool(false)
            default: break
            }
        case (.choice(let options), .string(let text)) where options.contains(text):
            return .string(text)
        default:
            break
        }
        throw MergeConfigError(.badValue, "parameter '\(parameter)': \(scalar) is not \(expectation)")
    }

    var expectation: String {
        switch self {
        case .float: "a number"
        case .bool: "a boolean (true or false)"
        case .choice(let options): "one of " + options.joined(separator: ", ")
        }
    }
}

/// A validated parameter value.
public enum ParameterValue: Sendable, Hashable, CustomStringConvertible {
    case number(Double)
    case bool(Bool)
    case string(String)

    public var number: Double? {
        if case .number(let value) = self { return value }
        return nil
    }

    public var bool: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    public var string: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    public var description: String {
        switch self {
        case .number(let value): formatNumber(value)
        case .bool(let value): value ? "true" : "false"
        case .string(let value): value
        }
    }
}

/// A number as a config would write it: integers without a fraction, others with up to 6 significant digits.
func formatNumber(_ value: Double) -> String {
    if value == value.rounded(), abs(value) < 1e15 { return String(Int(value)) }
    var text = String(format: "%.6g", value)
    if text.contains("e") { return text }
    while text.contains("."), text.hasSuffix("0") { text.removeLast() }
    return text
}
