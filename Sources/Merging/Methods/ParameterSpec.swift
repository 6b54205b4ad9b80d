/// A parameter of a method: its name, type, scope and default (`nil` and not optional: required).
struct ParameterSpec: Sendable {
    let name: String
    let type: ParameterType
    let scope: ParameterScope
    let defaultValue: ParameterValue?
    let optional: Bool
    /// The values a number may take (every number must be finite).
    let range: ValueRange

    init(
        _ name: String, _ type: ParameterType, _ scope: ParameterScope, default defaultValue: ParameterValue? = nil,
        optional: Bool = false, range: ValueRange = .finite
    ) {
        self.name = name
        self.type = type
        self.scope = scope
        self.defaultValue = defaultValue
        self.optional = optional
        self.range = range
    }

    var isRequired: Bool { defaultValue == nil && !optional }
}

/// Which inputs a parameter is given for (MergeKit's `ParameterScope`).
enum ParameterScope: Sendable {
    /// One value for the merge (from the global `parameters` only).
    case shared
    /// A value per input model, the base included.
    case input
    /// A value per input model other than the base.
    case nonBase
}
