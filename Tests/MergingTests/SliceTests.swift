import Checkpoints
import Foundation
import Merging
import TestSupport
import Testing

/// `slices:` — layer ranges per source, renumbered output layers, per-source parameters, and the refusals.
@Suite("Slices")
struct SliceTests {
    /// A 2-layer family (base, t1, t2) and a 3-layer model `deep`.
    func family(_ label: String) throws -> SyntheticFamily {
        let family = try SyntheticFamily.make(label)
        var shape = SyntheticFamily.Shape()
        shape.layers = 3
        try SyntheticFamily.writeModel(family.root.appendingPathComponent("deep"), shape: shape) { name, n in
            Random.normals(seed: name.hashValue64 &+ 17, n, scale: 0.3)
        }
        return family
    }

    func layerTensors(_ model: [String: [Float]], _ layer: Int) -> [String: [Float]] {
        model.filter { $0.key.hasPrefix("model.layers.\(layer).") }
            .reduce(into: [:]) { $0[String($1.key.dropFirst("model.layers.\(layer).".count))] = $1.value }
    }

    @Test func passthroughFrankenmergeRenumbersLayers() throws {
        let family = try family("franken")
        let config = try family.configuration(
            """
            slices:
              - sources: [{model: ./t1, layer_range: [0, 2]}]
              - sources: [{model: ./deep, layer_range: [1, 3]}]
              - sources: [{model: ./t1, layer_range: [1, 2]}]
            merge_method: passthrough
            """)
        let merge = try Merge(configuration: config).prepare()
        #expect(merge.plan.layerCount == 5)
        #expect(merge.plan.layerMap.map { $0.sources.map(\.layer) } == [[0], [1], [1], [2], [1]])
        let rendered = merge.plan.render(shardSize: .fiveGigabytes)
        #expect(rendered.contains("layer map (5 output layers):"))
        #expect(rendered.contains("layer 2 ← ./deep[1]  (slice 1)"))
        try merge.write(to: family.output())
        let out = try readModel(family.output())
        let t1 = try readModel(family.root.appendingPathComponent("t1"))
        let deep = try readModel(family.root.appendingPathComponent("deep"))
        #expect(layerTensors(out, 0) == layerTensors(t1, 0))
        #expect(layerTensors(out, 1) == layerTensors(t1, 1))
        #expect(layerTensors(out, 2) == layerTensors(deep, 1))
        #expect(layerTensors(out, 3) == layerTensors(deep, 2))
        #expect(layerTensors(out, 4) == layerTensors(t1, 1))
        #expect(out["model.layers.5.input_layernorm.weight"] == nil)
        // Embeddings from the first slice's model, the final norm and lm_head from the last slice's (as MergeKit).
        #expect(out["model.embed_tokens.weight"] == t1["model.embed_tokens.weight"])
        #expect(out["lm_head.weight"] == t1["lm_head.weight"])
        let json =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: family.output().appendingPathComponent("config.json"))) as? [String: Any]
        #expect(json?["num_hidden_layers"] as? Int == 5)
    }

    @Test func mergedSlicesTakePerSourceParametersAndRestartGradients() throws {
        let family = try family("linear-slices")
        let config = try family.configuration(
            """
            slices:
              - sources:
                  - {model: ./t1, layer_range: [0, 2], parameters: {weight: [1, 3]}}
                  - {model: ./deep, layer_range: [1, 3]}
                parameters: {weight: 2}
            merge_method: linear
            parameters: {normalize: false}
            """)
        let merge = try Merge(configuration: config).prepare()
        try merge.write(to: family.output())
        let out = try readModel(family.output())
        let t1 = try readModel(family.root.appendingPathComponent("t1"))
        let deep = try readModel(family.root.appendingPathComponent("deep"))
        // Output layer j = w₁(t)·t1[j] + 2·deep[1 + j], t = j (two layers): w₁ = 1 at j = 0, 3 at j = 1.
        for j in 0..<2 {
            let w1: Float = j == 0 ? 1 : 3
            for (suffix, values) in layerTensors(out, j) {
                let a = layerTensors(t1, j)[suffix]!, b = layerTensors(deep, 1 + j)[suffix]!
                for i in values.indices {
                    let expected = Float(Double(Float(Double(a[i]) * Double(w1))) + Double(b[i]) * 2)
                    #expect(values[i] == expected, "layer \(j) \(suffix)[\(i)]")
                    if values[i] != expected { break }
                }
            }
        }
    }

    static let refusals: [(String, String, [String])] = [
        (
            "slices:\n  - sources: [{model: ./t1, layer_range: [0, 5]}]\nmerge_method: passthrough\n",
            "range", ["slices[0].sources[0].layer_range [0, 5] is out of range", "2 layers"]
        ),
        (
            "slices:\n  - sources: [{model: ./t1, layer_range: [0, 2]}, {model: ./deep, layer_range: [0, "
                + "2]}]\nmerge_method: passthrough\n",
            "passthrough", ["slices[0]", "one model's layers per slice"]
        ),
        (
            "slices:\n  - sources: [{model: ./t1, layer_range: [0, 1], parameters: {weight: 1}}, {model: ./t2, "
                + "layer_range: [0, 1], parameters: {weight: 1}}]\n  - sources: [{model: ./t1, layer_range: [1, 2], "
                + "parameters: {weight: 1}}, {model: ./deep, layer_range: [1, 2], parameters: {weight: "
                + "1}}]\nmerge_method: linear\n",
            "models", ["slices[1] merges ./t1, ./deep but slices[0] merges ./t1, ./t2"]
        ),
        (
            "slices:\n  - sources: [{model: ./t1, layer_range: [0, 2], parameters: {weight: 1}}]\nbase_model: "
                + "./base\nmerge_method: task_arithmetic\n",
            "base", ["slices[0] does not include base_model './base'"]
        ),
        (
            "models:\n  - {model: ./t1, parameters: {weight: 1}}\n  - {model: ./deep, parameters: {weight: "
                + "1}}\nmerge_method: linear\n",
            "layer counts", ["different layer counts ('./t1' 2, './deep' 3)", "'slices:'"]
        ),
    ]

    @Test(arguments: refusals.indices)
    func refusesSlicesThatDoNotFit(_ index: Int) throws {
        let (yaml, label, words) = Self.refusals[index]
        let family = try family("slice-refusal-\(index)")
        let config = try family.configuration(yaml)
        let error = #expect(throws: MergeConfigError.self, "\(label)") { try Merge(configuration: config) }
        for word in words {
            #expect(
                error?.description.contains(word) == true,
                "\(label): \(String(describing: error)) should contain \(word)")
        }
    }

    static let parseRefusals: [(String, [String])] = [
        (
            "slices:\n  - sources: [{model: a, layer_range: [2, 2]}]\nmerge_method: passthrough\n",
            ["slices[0].sources[0].layer_range [2, 2] is empty or reversed"]
        ),
        (
            "slices:\n  - sources: [{model: a, layer_range: [3, 1]}]\nmerge_method: passthrough\n",
            ["layer_range [3, 1]"]
        ),
        (
            "slices:\n  - sources: [{model: a, layer_range: [-1, 1]}]\nmerge_method: passthrough\n",
            ["layer_range [-1, 1]"]
        ),
        (
            "slices:\n  - sources: [{model: a, layer_range: [0, 2]}, {model: a, layer_range: [1, 3]}]\nmerge_method: "
                + "linear\n",
            ["slices[0].sources: model 'a' appears twice", "[0, 2]", "[1, 3]"]
        ),
        (
            "slices:\n  - sources: [{model: a, layer_range: [0, 2]}, {model: b, layer_range: [0, 3]}]\nmerge_method: "
                + "linear\n",
            ["layer_range lengths differ", "'a' [0, 2]", "'b' [0, 3]"]
        ),
        (
            "slices:\n  - sources: [{model: a, layer_range: [0, 2]}]\nmodels: [{model: a}]\nmerge_method: linear\n",
            ["either 'models' or 'slices'"]
        ),
        (
            "slices:\n  - sources: [{model: a, layer_range: [0, 2], parameters: {weight: .nan}}]\nmerge_method: "
                + "linear\n",
            ["slices[0].sources[0] ('a') parameters.weight", "NaN"]
        ),
        (
            "slices:\n  - sources: [{model: a, layer_range: [0, 2]}]\n    parameters: {scale: .inf}\nmerge_method: "
                + "passthrough\n",
            ["slices[0].parameters.scale", "+inf"]
        ),
    ]

    @Test(arguments: parseRefusals.indices)
    func refusesBadSlicesWhenParsed(_ index: Int) {
        let (yaml, words) = Self.parseRefusals[index]
        do {
            _ = try MergeConfiguration(yaml: yaml, directory: URL(fileURLWithPath: "/tmp"))
            Issue.record("\(yaml) should be refused")
        } catch {
            for word in words {
                #expect("\(error)".contains(word), "\(error) should contain \(word)")
            }
        }
    }
}
