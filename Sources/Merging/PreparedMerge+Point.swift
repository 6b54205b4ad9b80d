import Foundation

extension PreparedMerge {
    /// The merged weights as a point of the task-vector space, θ = θ0 + Σ_t c_t τ_t (τ_t = θ_t − θ0), for the
    /// methods linear in the task vectors — so `eval` / `sweep` can run it without writing it. `c` is in the
    /// order of ``MergePlan/taskIndices`` (the task models as the plan opened them).
    ///
    /// - `linear` (normalize, the default): θ = Σ_m w_m θ_m / Σ_m w_m = θ0 + Σ_t (w_t / W) τ_t, W = Σ_m w_m over
    ///   every input, the base included when listed (a base appended by MetaMerge has no weight). Without
    ///   `normalize`, θ = Σ w_m θ_m is a point of this form only when Σ_m w_m = 1.
    /// - `task_arithmetic`: c_t = λ·w_t, or λ·w_t / Σ_k w_k with `normalize` (a sum below 1e-8 in magnitude divides
    ///   by 1, as the kernel does).
    /// - `metagpt` (global λ): c_t = `lambda`·λ_t.
    ///
    /// The parameters must be the same for every tensor (no layer gradient or filter that changes them).
    ///
    /// - Throws: ``MergeConfigError`` (`.badValue`) for any other method (sparsification, sign consensus, SLERP…),
    ///   per-tensor parameters or λ, or a config without a base model, saying to `metamerge merge` and evaluate the
    ///   directory instead.
    public func linearPoint() throws -> [Double] {
        let file = plan.configuration.file
        let method = plan.method
        let advice = "write it with `metamerge merge CONFIG OUT_DIR` and evaluate OUT_DIR instead"
        guard let baseIndex = plan.baseIndex else {
            throw MergeConfigError(
                .badValue, file: file, "has no base_model, so its result is not a point θ0 + Σ c τ; \(advice)")
        }
        let tensors = plan.tensors.filter { !$0.isCopied }
        guard let first = tensors.first else { return plan.taskIndices.map { _ in 0 } }
        func uniform(_ value: (MergePlan.Tensor) -> [Double?]) throws -> [Double?] {
            let reference = value(first)
            if let other = tensors.first(where: { value($0) != reference }) {
                throw MergeConfigError(
                    .badValue, file: file,
                    "its parameters differ between tensors (e.g. \(first.name) and \(other.name): a gradient or "
                    + "filter), so the merge is not one point θ0 + Σ c τ; \(advice)")
            }
            return reference
        }
        let tasks = plan.taskIndices
        func parameters(_ tensor: MergePlan.Tensor) -> MethodParameters { MethodParameters(tensor, method: method) }
        func linear(_ tensor: MergePlan.Tensor) -> LinearKernel.Parameters {
            LinearKernel.Parameters(parameters(tensor), inputs: plan.inputs.count)
        }
        func taskArithmetic(_ tensor: MergePlan.Tensor) -> TaskArithmeticKernel.Settings {
            let request = KernelRequest(plan: plan, tensor: tensor, mode: .merge)
            return TaskArithmeticKernel.Settings(
                request, sparsification: nil, consensus: false, weights: request.perTask("weight"))
        }
        var byInput: [Int: Double] = [:]
        switch method.definition.point {
        case .weightedAverage:
            let weights = try uniform { linear($0).weights }.map { $0 ?? 0 }
            let normalize = try uniform { [linear($0).normalize ? 1 : 0] }[0] == 1
            var total = 0.0
            for w in weights { total += w }
            if normalize {
                guard total != 0 else { throw MergeConfigError(.badValue, file: file, "its linear weights sum to 0") }
                for t in tasks { byInput[t] = weights[t] / total }
            } else {
                guard abs(total - 1) < 1e-12 else {
                    throw MergeConfigError(
                        .badValue, file: file,
                        "linear without normalize has weights summing to \(total), so θ = Σ w θ is not θ0 + Σ c τ; "
                        + "\(advice)"
                    )
                }
                for t in tasks { byInput[t] = weights[t] }
            }
            _ = baseIndex
        case .taskArithmetic:
            let weights = try uniform { taskArithmetic($0).weights }.map { $0 ?? 0 }
            let lambda = try uniform { [taskArithmetic($0).lambda] }[0] ?? 1
            let normalize = try uniform { [taskArithmetic($0).normalize ? 1 : 0] }[0] == 1
            var divisor = 0.0
            for w in weights { divisor += w }
            if !normalize || abs(divisor) < 1e-8 { divisor = 1 }
            for (k, t) in tasks.enumerated() { byInput[t] = lambda * weights[k] / divisor }
        case .metaGPT:
            guard let lambdas = plan.globalLambdas else {
                throw MergeConfigError(
                    .badValue, file: file,
                    "MetaGPT with per-tensor λ (granularity: per_tensor) is not one point θ0 + Σ c τ; \(advice)")
            }
            let scale = try uniform { [parameters($0).number("lambda")] }[0] ?? 1
            for (k, t) in tasks.enumerated() { byInput[t] = scale * lambdas[k] }
        case nil:
            let points = MergeMethod.allCases.filter { $0.definition.point != nil }.map(\.rawValue)
            let listing = points.dropLast().joined(separator: ", ") + " and " + points.last!
            throw MergeConfigError(
                .badValue, file: file,
                "merge_method \(method.rawValue) is not linear in the task vectors (only \(listing) are evaluated "
                    + "without writing); \(advice)")
        }
        return tasks.map { byInput[$0] ?? 0 }
    }
}
