import Checkpoints
import Foundation
import SafeTensors
import TestSupport

/// A family written from chosen task vectors, so every statistic is known by hand.
struct SyntheticFamily {
    let root: URL
    let family: ModelFamily

    /// `base[name]` and `tau[t][name]` give flat values; shapes in `shapes`.
    init(
        shapes: [String: [Int]], base: [String: [Float]], tau: [String: [[Float]]], taskNames: [String],
        config: [String: Any] = ["architectures": ["LlamaForCausalLM"]], dtype: DType = .f32
    ) throws {
        root = try makeTemporaryDirectory("synthetic")
        func write(_ directory: URL, _ values: [String: [Float]]) throws {
            try Self.writeModel(directory, config: config, shapes: shapes, values: values, dtype: dtype)
        }
        try write(root.appendingPathComponent("base"), base)
        var members: [ModelFamily.Member] = []
        for (t, name) in taskNames.enumerated() {
            var values: [String: [Float]] = [:]
            for (tensor, b) in base { values[tensor] = zip(b, tau[tensor]![t]).map { $0 + $1 } }
            let directory = root.appendingPathComponent(name)
            try write(directory, values)
            members.append(.init(name: name, checkpoint: try Checkpoint(directory: directory)))
        }
        family = try ModelFamily(base: Checkpoint(directory: root.appendingPathComponent("base")), tasks: members)
    }

    /// Writes a model directory: `config` as config.json and `values` as F32 tensors of `shapes`.
    static func writeModel(
        _ directory: URL, config: [String: Any], shapes: [String: [Int]], values: [String: [Float]], dtype: DType = .f32
    ) throws {
        // A real config states the layer count the tensors have (checkpoint validation requires it).
        var config = config
        let layers = shapes.keys.compactMap { name -> Int? in
            guard name.hasPrefix("model.layers.") else { return nil }
            return Int(name.dropFirst("model.layers.".count).prefix { $0.isNumber })
        }
        if config["num_hidden_layers"] == nil, let last = layers.max() { config["num_hidden_layers"] = last + 1 }
        try ModelDirectoryBuilder(directory, config: config).write(
            "model.safetensors", shapes.keys.sorted().map { ($0, shapes[$0]!) }, dtype: dtype
        ) { name, _ in values[name]! }
    }

    /// Two tasks, two layers; worked by hand in the tests:
    /// layer 0: τ1 = (3, 4, 0, 0, 0, 0), τ2 = (4, −3, 0, 0, 0, 0) — orthogonal, ‖τ‖² = 25 each;
    /// layer 1: τ1 = (1, 0, 0, 0), τ2 = (1, 1, 0, 0) — cosine 1/√2; every base weight is 1.
    static func handWorked() throws -> SyntheticFamily {
        try SyntheticFamily(
            shapes: ["model.layers.0.a.weight": [2, 3], "model.layers.1.b.weight": [4]],
            base: [
                "model.layers.0.a.weight": [Float](repeating: 1, count: 6), "model.layers.1.b.weight": [1, 1, 1, 1],
            ],
            tau: [
                "model.layers.0.a.weight": [[3, 4, 0, 0, 0, 0], [4, -3, 0, 0, 0, 0]],
                "model.layers.1.b.weight": [[1, 0, 0, 0], [1, 1, 0, 0]],
            ],
            taskNames: ["one", "two"])
    }
}
