/// One tensor's resolved parameters, typed once: the planner's values, with the method's spec defaults behind
/// them, so no read site restates a default.
struct MethodParameters: Sendable {
    let definition: MethodDefinition
    /// Shared parameters (one value for the tensor).
    let shared: [String: ParameterValue]
    /// Per-input parameters, in input order.
    let perInput: [[String: ParameterValue]]

    init(
        _ definition: MethodDefinition, shared: [String: ParameterValue] = [:],
        perInput: [[String: ParameterValue]] = []
    ) {
        self.definition = definition
        self.shared = shared
        self.perInput = perInput
    }

    init(_ tensor: MergePlan.Tensor, method: MergeMethod) {
        self.init(method.definition, shared: tensor.shared, perInput: tensor.perInput)
    }

    /// Shared parameter `name`: the tensor's value, else its spec's default.
    func value(_ name: String) -> ParameterValue? { shared[name] ?? definition.spec(name)?.defaultValue }

    /// Shared boolean `name` (false when the method has no such parameter).
    func flag(_ name: String) -> Bool { value(name)?.bool ?? false }

    /// Shared number `name` (0 for a required one not given, which the planner never leaves).
    func number(_ name: String) -> Double { value(name)?.number ?? 0 }

    /// Shared number `name`, nil when optional and not given.
    func optionalNumber(_ name: String) -> Double? { value(name)?.number }

    /// Shared choice `name` ("" when the method has no such parameter).
    func string(_ name: String) -> String { value(name)?.string ?? "" }

    /// Per-input number `name` for each of `inputs` (0 where it does not apply, as for the base of a parameter
    /// given only to the other models).
    func numbers(_ name: String, of inputs: [Int]) -> [Double] { inputs.map { number(name, input: $0) } }

    /// Per-input number `name` of input `input`, nil when optional and not given.
    func optionalNumber(_ name: String, input: Int) -> Double? { perInput[input][name]?.number }

    private func number(_ name: String, input: Int) -> Double { perInput[input][name]?.number ?? 0 }
}
