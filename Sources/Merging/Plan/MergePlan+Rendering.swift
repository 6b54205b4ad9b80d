import Checkpoints
import Foundation
import SafeTensors

extension MergePlan {
    /// The plan as text, for `metamerge merge --dry-run`: inputs, MetaGPT's λ, the gate's verdict, every tensor
    /// with its shape, dtype, layer position and resolved parameters, the output shards, and the notes.
    public func render(shardSize: ByteSize) -> String {
        var lines: [String] = []
        let base = baseIndex.map { ", base \(inputs[$0].reference)" } ?? ""
        lines.append("merge plan: \(method.rawValue)\(base), \(inputs.count) input models, \(tensors.count) tensors")
        lines.append("inputs:")
        for (index, input) in inputs.enumerated() {
            let role = index == baseIndex ? "base" : "\(index)"
            lines.append(
                "  [\(role)] \(input.reference)  (\(input.url.path))\(input.appended ? "  appended as base_model" : "")"
            )
        }
        if method.isStochastic {
            lines.append("random seed: \(seed)\(seedGiven ? "" : " (drawn; pass --random-seed to fix it)")")
        }
        if method.definition.usesMetaGPTLambdas {
            if let lambdas = globalLambdas {
                lines.append("MetaGPT λ (global; \(lambdaSource ?? "")):")
                for (k, name) in taskNames.enumerated() {
                    let norm = lambdaNorms.map { String(format: "  ‖τ‖² = %.6g", $0[k]) } ?? ""
                    lines.append(String(format: "  %@  λ = %.9f", name, lambdas[k]) + norm)
                }
            } else if tensors.contains(where: { $0.lambdas != nil }) {
                lines.append("MetaGPT λ: per tensor (\(lambdaSource ?? "")), listed with each tensor")
            }
        }
        if let gate {
            lines.append("gate \(gate.thresholds.summary): \(gate.verdict)")
            for figure in gate.figures { lines.append("  \(figure)") }
            for violation in gate.violations.prefix(20) { lines.append("  violation: \(violation)") }
            if gate.violations.count > 20 { lines.append("  … \(gate.violations.count - 20) more violation(s)") }
        }
        if !layerMap.isEmpty {
            lines.append("layer map (\(layerMap.count) output layers):")
            for entry in layerMap {
                let sources = entry.sources.map { "\($0.reference)[\($0.layer)]" }.joined(separator: " + ")
                lines.append("  layer \(entry.output) ← \(sources)  (slice \(entry.slice))")
            }
        }
        lines.append("tensors:")
        let width = min(tensors.map(\.name.count).max() ?? 0, 60)
        for tensor in tensors {
            let name = tensor.name.padding(toLength: max(width, tensor.name.count), withPad: " ", startingAt: 0)
            let shape = "[" + tensor.shape.map(String.init).joined(separator: ", ") + "]"
            var text = "  \(name)  \(shape) \(tensor.dtype.rawValue)"
            if tensor.isCopied {
                lines.append(text + "  copied (not floating point, identical in every model)")
                continue
            }
            text += String(format: "  t=%.3g", tensor.layerPosition)
            let shared = tensor.shared.keys.sorted().map { "\($0)=\(tensor.shared[$0]!)" }
            if !shared.isEmpty { text += "  " + shared.joined(separator: " ") }
            let names = Set(tensor.perInput.flatMap(\.keys)).sorted()
            for parameter in names {
                let values = tensor.perInput.indices.compactMap { index -> String? in
                    guard let value = tensor.perInput[index][parameter] else { return nil }
                    return value.description
                }
                text += "  \(parameter)=[\(values.joined(separator: ", "))]"
            }
            if let lambdas = tensor.lambdas, globalLambdas == nil {
                text += "  λ=[" + lambdas.map { String(format: "%.6f", $0) }.joined(separator: ", ") + "]"
            }
            if tensor.isTrimmed {
                text += "  (common rows of " + tensor.inputShapes.map { "\($0[0])" }.joined(separator: "/") + ")"
            }
            lines.append(text)
        }
        lines.append("output shards (--out-shard-size \(shardSize)):")
        for shard in Self.shards(
            tensors.map { ModelWriter.Entry(name: $0.name, dtype: $0.dtype, shape: $0.shape) },
            shardSize: shardSize.bytes)
        {
            let bytes = shard.entries.reduce(0) { $0 + $1.byteCount }
            lines.append("  \(shard.file)  \(shard.entries.count) tensors, \(ByteSize(bytes: bytes))")
        }
        lines.append(
            "files: config.json (from \(configSource.lastPathComponent)), tokenizer files (from "
                + "\(tokenizerSource.lastPathComponent)), mergekit_config.yml, README.md"
        )
        for note in notes { lines.append("note: \(note)") }
        return lines.joined(separator: "\n")
    }

    /// The shards ``ModelWriter`` will write, computed without creating anything.
    static func shards(_ entries: [ModelWriter.Entry], shardSize: Int) -> [(file: String, entries: [ModelWriter.Entry])]
    {
        ModelWriter.plan(entries, shardSize: shardSize)
    }
}
