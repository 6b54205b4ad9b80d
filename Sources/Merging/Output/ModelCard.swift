import Foundation

/// The `README.md` written beside a merged model: Hugging Face YAML front matter (`base_model`, `tags: [merge,
/// metamerge]`, `library_name: transformers`), then the method, the models, MetaGPT's λ, the gate's verdict with
/// its figures, notes, and the configuration.
enum ModelCard {
    static func render(plan: MergePlan, name: String) -> String {
        var lines: [String] = ["---"]
        if let base = plan.baseIndex {
            lines.append("base_model:")
            lines.append("- \(yamlString(plan.inputs[base].reference))")
        }
        lines += ["tags:", "- merge", "- metamerge", "library_name: transformers", "---", "", "# \(name)", ""]
        lines.append("This is a merge of pre-trained language models created with MetaMerge.")
        lines.append("")
        lines.append("## Merge Details")
        lines.append("### Merge Method")
        lines.append("")
        let definition = plan.method.definition
        let pretty = definition.prettyName
        let methodText = definition.reference.map { "[\(pretty)](\($0))" } ?? pretty
        let baseText = plan.baseIndex.map { " using \(plan.inputs[$0].reference) as a base" } ?? ""
        lines.append("This model was merged using the \(methodText) merge method\(baseText).")
        if plan.method.isStochastic {
            lines.append("")
            let how = plan.seedGiven ? "" : " (drawn at random; pass `--random-seed \(plan.seed)` to reproduce)"
            lines.append("Random draws use seed \(plan.seed)\(how).")
        }
        lines.append("")
        lines.append("### Models Merged")
        lines.append("")
        lines.append("The following models were included in the merge:")
        for (index, input) in plan.inputs.enumerated() where index != plan.baseIndex {
            lines.append("* \(input.reference)")
        }
        if definition.usesMetaGPTLambdas {
            lines.append("")
            lines.append("### MetaGPT coefficients")
            lines.append("")
            if let lambdas = plan.globalLambdas {
                lines.append("λₜ = ‖τₜ‖² / Σₖ ‖τₖ‖² over all merged tensors (\(plan.lambdaSource ?? "")):")
                lines.append("")
                lines.append("| model | ‖τ‖² | λ |")
                lines.append("|---|---|---|")
                for (k, task) in plan.taskNames.enumerated() {
                    let norm = plan.lambdaNorms.map { String(format: "%.6g", $0[k]) } ?? "–"
                    lines.append("| \(task) | \(norm) | \(String(format: "%.6f", lambdas[k])) |")
                }
            } else {
                lines.append("λ computed per tensor (granularity: per_tensor; \(plan.lambdaSource ?? "")).")
            }
            let scale = plan.sharedParameters.number("lambda")
            if scale != 1 {
                lines.append("")
                lines.append("Scaled by lambda = \(formatNumber(scale)).")
            }
        }
        lines.append("")
        lines.append("### Assumption gate")
        lines.append("")
        if let gate = plan.gate {
            lines.append("Orthogonality gate \(gate.thresholds.summary): **\(gate.verdict)**.")
            lines.append("")
            for figure in gate.figures { lines.append("- \(figure)") }
            if !gate.violations.isEmpty {
                lines.append("")
                lines.append("Violations:")
                lines.append("")
                for violation in gate.violations.prefix(50) { lines.append("- \(violation)") }
                if gate.violations.count > 50 { lines.append("- … and \(gate.violations.count - 50) more") }
            }
        } else {
            lines.append(
                "No gate was run (pass `--gate max-cosine=X` or add a `gate:` block to check task-vector orthogonality "
                + "first)."
            )
        }
        if !plan.notes.isEmpty {
            lines.append("")
            lines.append("### Notes")
            lines.append("")
            for note in plan.notes { lines.append("- \(note)") }
        }
        lines.append("")
        lines.append("### Configuration")
        lines.append("")
        lines.append("The following YAML configuration was used to produce this model:")
        lines.append("")
        lines.append("```yaml")
        lines.append(plan.configuration.text.trimmingCharacters(in: .newlines))
        lines.append("```")
        lines.append("")
        return lines.joined(separator: "\n")
    }

    /// A YAML scalar: plain when safe, else double-quoted.
    static func yamlString(_ text: String) -> String {
        let safe = text.allSatisfy { $0.isLetter || $0.isNumber || "/._-".contains($0) } && !text.isEmpty
        if safe { return text }
        return "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            + "\""
    }
}
