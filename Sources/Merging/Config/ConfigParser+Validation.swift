import Foundation

extension ConfigParser {
    /// The spec a parameter named `name` is checked against: the method's own, else the first method's that has
    /// one (a parameter another method uses is ignored by this one, but a NaN in it is still refused).
    static func spec(named name: String, for method: MergeMethod) -> ParameterSpec? {
        if let own = method.definition.spec(name) { return own }
        for other in MergeMethod.allCases {
            if let spec = other.definition.spec(name) { return spec }
        }
        return nil
    }

    /// Checks every value of every known parameter — scalars, each entry of a gradient, each conditional's value —
    /// against its type and range (``ValueRange``): NaN, ±∞ and out-of-range numbers are refused here, when the
    /// configuration is parsed, naming the key, the model or the global `parameters:`, the filter, and the range.
    func validateParameters(
        method: MergeMethod, global: [String: ParameterSetting], models: [MergeConfiguration.ModelEntry],
        owner: String = "parameters"
    ) throws {
        for name in global.keys.sorted() {
            try validate(global[name]!, name: name, method: method, owner: owner)
        }
        for (index, model) in models.enumerated() {
            for name in model.parameters.keys.sorted() {
                try validate(
                    model.parameters[name]!, name: name, method: method,
                    owner: "models[\(index)] ('\(model.reference)') parameters")
            }
        }
    }

    private func validate(_ setting: ParameterSetting, name: String, method: MergeMethod, owner: String) throws {
        guard let spec = Self.spec(named: name, for: method) else { return }
        func check(_ scalar: ParameterScalar, at location: String) throws {
            let value: ParameterValue
            do {
                value = try spec.type.validate(scalar, parameter: name)
            } catch let error as MergeConfigError {
                throw self.error(
                    error.kind, "\(owner).\(name)\(location): \(scalar) is not \(spec.type.expectation)", cause: error)
            }
            if let number = value.number, !spec.range.contains(number) {
                throw self.error(
                    .badValue,
                    "\(owner).\(name)\(location): \(describe(number)) is out of range; '\(name)' must be \(spec.range)")
            }
        }
        func walk(_ setting: ParameterSetting, at location: String) throws {
            switch setting {
            case .scalar(let scalar):
                try check(scalar, at: location)
            case .gradient(let scalars):
                for (i, scalar) in scalars.enumerated() { try check(scalar, at: "\(location)[\(i)]") }
            case .conditional(let conditions):
                for condition in conditions {
                    try walk(condition.value, at: "\(location) (filter: \(condition.filter ?? "*"))")
                }
            }
        }
        try walk(setting, at: "")
    }

    private func describe(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+inf" : "-inf" }
        return formatNumber(value)
    }
}
