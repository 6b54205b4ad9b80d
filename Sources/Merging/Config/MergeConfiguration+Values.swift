import Foundation
import Statistics
import Yams

extension MergeConfiguration {
    /// A configuration built from values, as a program builds one (the demo does): rendered to MergeKit YAML by a
    /// YAML serializer — so a path holding `: ` or `#` needs no quoting by hand — and read back through the one
    /// configuration parser, so it is validated exactly as a file would be. The rendered YAML is what the merged
    /// model's `mergekit_config.yml` records.
    ///
    /// - Parameters:
    ///   - models: each model's path and its scalar `parameters:` (e.g. `weight`).
    ///   - parameters: global scalar parameters.
    ///   - dtype: MergeKit's dtype name (`float32`, `bfloat16`, …).
    ///   - gate: a `gate:` block.
    ///   - directory: the folder relative paths resolve against.
    /// - Throws: ``MergeConfigError`` as for a file with the same content.
    public init(
        method: MergeMethod, baseModel: String?, models: [(reference: String, parameters: [String: Double])],
        parameters: [String: Double] = [:], dtype: String? = nil, gate: GateThresholds? = nil, directory: URL
    ) throws {
        // Numbers are written as Swift prints them (`0.3`, not `3e-1`, which YAML 1.1 readers such as PyYAML take for
        // a string); strings as plain scalars the emitter quotes when they need it.
        func scalar(_ text: String) -> Node { Node(text) }
        func number(_ value: Double) -> Node { Node(String(value)) }
        func numbers(_ values: [String: Double]) -> Node {
            Node.mapping(Node.Mapping(values.sorted { $0.key < $1.key }.map { (scalar($0.key), number($0.value)) }))
        }
        var root: [(Node, Node)] = [(scalar("merge_method"), scalar(method.rawValue))]
        if let baseModel { root.append((scalar("base_model"), scalar(baseModel))) }
        root.append(
            (
                scalar("models"),
                Node.sequence(
                    Node.Sequence(
                        models.map { model in
                            var entry: [(Node, Node)] = [(scalar("model"), scalar(model.reference))]
                            if !model.parameters.isEmpty {
                                entry.append((scalar("parameters"), numbers(model.parameters)))
                            }
                            return Node.mapping(Node.Mapping(entry))
                        }))
            ))
        if !parameters.isEmpty { root.append((scalar("parameters"), numbers(parameters))) }
        if let dtype { root.append((scalar("dtype"), scalar(dtype))) }
        if let gate {
            var block: [(Node, Node)] = [(scalar("scope"), scalar(gate.scope.rawValue))]
            for (key, value) in [
                ("max_cosine", gate.maxCosine), ("max_chord_residual", gate.maxChordResidual),
                ("max_taylor_error", gate.maxTaylorError), ("max_additivity_gap", gate.maxAdditivityGap),
            ] {
                if let value { block.append((scalar(key), number(value))) }
            }
            root.append((scalar("gate"), Node.mapping(Node.Mapping(block))))
        }
        let yaml = try Yams.serialize(node: Node.mapping(Node.Mapping(root)))
        try self.init(yaml: yaml, directory: directory)
    }
}
