import Foundation

extension MergeExecutor {
    /// Kernels of the methods MergeKit added after its task-arithmetic family — `nuslerp`, `multislerp`, `karcher`,
    /// `nearswap`, `arcee_fusion`, `ram`, `ramplus_tl` — and the sources each reads, in its input order.
    func sphericalAndRAMKernel(for tensor: MergePlan.Tensor) throws -> (any TensorKernel, [TensorSource]) {
        let tasks = plan.taskIndices
        let baseFirst = plan.baseIndex.map { [$0] + tasks } ?? tasks
        let sources = baseFirst.map { tensor.sources[$0] }
        let hasBase = plan.baseIndex != nil
        func shared(_ name: String) -> Double? { tensor.shared[name]?.number }
        switch plan.method {
        case .nuslerp:
            let weights = tasks.map { tensor.perInput[$0]["weight"]?.number ?? 0 }
            let flatten = tensor.shared["nuslerp_flatten"]?.bool ?? true
            let rowWise = tensor.shared["nuslerp_row_wise"]?.bool ?? false
            let mode: NuSlerpKernel.Mode = flatten ? .flatten : rowWise ? .columns : .rows
            if mode == .columns, tensor.shape.count > 2 {
                throw MergeConfigError(
                    .incompatibleModels,
                    "tensor '\(tensor.name)': nuslerp_row_wise is implemented for tensors of at most 2 dimensions "
                    + "(shape \(tensor.shape))"
                )
            }
            return (
                NuSlerpKernel(weights: (weights[0], weights[1]), mode: mode, hasBase: hasBase, shape: tensor.shape),
                sources
            )
        case .multislerp:
            let weights = tasks.map { tensor.perInput[$0]["weight"]?.number ?? 0 }
            let kernel = MultiSlerpKernel(
                name: tensor.name, tasks: tasks.count, hasBase: hasBase, weights: weights,
                normalizeWeights: tensor.shared["normalize_weights"]?.bool ?? true, epsilon: shared("eps") ?? 1e-8)
            return (kernel, sources)
        case .karcher:
            let kernel = KarcherKernel(
                inputs: plan.inputs.count, maxIterations: Int(shared("max_iter") ?? 10),
                tolerance: shared("tol") ?? 1e-5)
            return (kernel, tensor.sources)
        case .nearswap:
            return (NearSwapKernel(t: shared("t") ?? 0), sources)
        case .arceeFusion:
            return (ArceeFusionKernel(shape: tensor.shape), sources)
        case .ram:
            return (RAMKernel(tasks: tasks.count, epsilon: shared("epsilon") ?? 1e-5, plus: nil), sources)
        case .ramplusTL:
            let plus = (r: shared("r") ?? 0.1, alpha: shared("alpha") ?? 0.2)
            return (RAMKernel(tasks: tasks.count, epsilon: shared("epsilon") ?? 1e-5, plus: plus), sources)
        default:
            throw MergeConfigError(.unknownMethod, "merge_method \(plan.method.rawValue) has no kernel here")
        }
    }
}
