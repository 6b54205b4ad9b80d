import Checkpoints
import Foundation

/// `inspect`'s text for one checkpoint: architecture, sizes, parameters, bytes by dtype, tied head, shards, notes
/// and problems; with `tensors`, every tensor's name, dtype, shape and bytes.
struct CheckpointText {
    let summary: CheckpointSummary
    let tensors: Bool

    var text: String {
        var lines: [String] = []
        lines.append(summary.directory)
        if let inferred = summary.inferredArchitecture, let modelType = summary.modelType {
            lines.append(
                "  architecture   \(inferred) (inferred from model_type \(modelType), as AutoModelForCausalLM "
                    + "does)")
        } else {
            lines.append(
                "  architecture   \(summary.architectures.joined(separator: ", ").nonEmpty ?? "unknown")"
                    + (summary.modelType.map { " (model_type \($0))" } ?? ""))
        }
        lines.append(
            "  layers         \(summary.layers.map(String.init) ?? "?")   hidden "
                + "\(summary.hiddenSize.map(String.init) ?? "?")   vocab "
                + "\(summary.vocabSize.map(String.init) ?? "?")"
        )
        lines.append("  parameters     \(Self.formatCount(summary.parameters))")
        let dtypes = summary.bytesByDtype.sorted { $0.key < $1.key }
            .map { "\($0.key) \(ByteSize(bytes: $0.value))" }.joined(separator: ", ")
        lines.append("  bytes          \(dtypes)")
        lines.append("  tied lm_head   \(summary.tiedEmbeddings ? "yes (the embedding serves as lm_head)" : "no")")
        lines.append("  shards         \(summary.shards.count)")
        for shard in summary.shards {
            lines.append("    \(shard.file)  \(shard.tensors) tensors, \(ByteSize(bytes: shard.bytes))")
        }
        for note in summary.notes { lines.append("  note           \(note)") }
        for problem in summary.problems { lines.append("  PROBLEM        \(problem)") }
        if tensors {
            lines.append("  tensors        \(summary.tensors.count)")
            let width = summary.tensors.map(\.name.count).max() ?? 0
            for tensor in summary.tensors {
                let name = tensor.name.padding(toLength: width, withPad: " ", startingAt: 0)
                let shape = "[" + tensor.shape.map(String.init).joined(separator: ", ") + "]"
                lines.append(
                    "    \(name)  \(tensor.dtype.padding(toLength: 7, withPad: " ", startingAt: 0)) "
                        + "\(shape.padding(toLength: 16, withPad: " ", startingAt: 0)) \(tensor.bytes) B"
                )
            }
        }
        return lines.joined(separator: "\n")
    }

    private static func formatCount(_ count: Int) -> String {
        switch count {
        case 1_000_000_000...: String(format: "%.2f B (%ld)", Double(count) / 1e9, count)
        case 1_000_000...: String(format: "%.2f M (%ld)", Double(count) / 1e6, count)
        case 1_000...: String(format: "%.1f k (%ld)", Double(count) / 1e3, count)
        default: "\(count)"
        }
    }
}

extension String {
    var nonEmpty: String? { isEmpty ? nil : self }
}
