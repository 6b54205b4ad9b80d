/// What a method's kernel factory (``MethodDefinition/makeKernel``) builds from: the plan, one tensor, its typed
/// parameters and the inputs' sources.
struct KernelRequest {
    let plan: MergePlan
    let tensor: MergePlan.Tensor
    /// `.squaredNorms` to measure ‖sparsified δₜ‖² instead of merging (task-arithmetic family only).
    let mode: TaskArithmeticKernel.Mode
    let parameters: MethodParameters

    init(plan: MergePlan, tensor: MergePlan.Tensor, mode: TaskArithmeticKernel.Mode) {
        self.plan = plan
        self.tensor = tensor
        self.mode = mode
        parameters = MethodParameters(tensor, method: plan.method)
    }

    /// The task models' input indices (every input but the base).
    var tasks: [Int] { plan.taskIndices }

    /// The base (when there is one), then the task models: base-aware kernels' input order. A passthrough slice
    /// reads one input, so indices past the tensor's sources are left out.
    var baseFirstSources: [TensorSource] {
        let baseFirst = plan.baseIndex.map { [$0] + tasks } ?? tasks
        return baseFirst.filter { $0 < tensor.sources.count }.map { tensor.sources[$0] }
    }

    /// Every input's source, in input order (the base wherever it is listed).
    var inputSources: [TensorSource] { tensor.sources }

    /// Per-task number `name`, in task order.
    func perTask(_ name: String) -> [Double] { parameters.numbers(name, of: tasks) }

    /// MetaGPT's λ for this tensor; before they are known, ones when `measuring` in `.squaredNorms` mode (the
    /// sparsified norms the λ are computed from).
    func lambdas(measuring: Bool = false) throws -> [Double] {
        if let lambdas = tensor.lambdas { return lambdas }
        if measuring, mode == .squaredNorms { return [Double](repeating: 1, count: tasks.count) }
        throw MergeConfigError(.badValue, "tensor '\(tensor.name)': MetaGPT coefficients were not computed")
    }
}
