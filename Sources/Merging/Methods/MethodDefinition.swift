/// One row of the method table (``MethodRegistry``): what MetaMerge needs to know about a merge method besides its
/// kernel's arithmetic — as a MergeKit `MergeMethod` subclass declares it (`mergekit/merge_methods/base.py`) and
/// `registry.py` lists it.
struct MethodDefinition: Sendable {
    /// The method (its `merge_method` name).
    let method: MergeMethod
    /// The name MergeKit's model card uses.
    let prettyName: String
    /// The paper or page the model card links to.
    let reference: String?
    /// The parameters, in the order they are resolved (and a missing one reported), with defaults and ranges.
    let parameters: [ParameterSpec]
    let basePolicy: BasePolicy
    /// (minimum, maximum) number of inputs, the base included, as MergeKit's input contracts.
    let inputCount: (min: Int, max: Int?)
    /// What the message for a wrong input count adds after "input models", e.g. " (the base and one other model)".
    let inputDetail: String
    /// The shared boolean under which the method divides by the weights' sum (a zero sum is refused), if any.
    let weightSumFlag: String?
    /// Whether MetaGPT's λ (computed from ‖τₜ‖²) are the task weights.
    let usesMetaGPTLambdas: Bool
    /// Whether results depend on the random seed.
    let isStochastic: Bool
    /// How the merge is one point θ0 + Σ c τ, for the methods linear in the task vectors; nil for the others.
    let point: PointForm?
    /// The kernel for one tensor and the sources it reads, in the kernel's input order.
    let makeKernel: @Sendable (KernelRequest) throws -> (any TensorKernel, [TensorSource])

    init(
        _ method: MergeMethod, _ prettyName: String, _ reference: String?, parameters: [ParameterSpec],
        basePolicy: BasePolicy = .required, inputCount: (min: Int, max: Int?) = (1, nil), inputDetail: String = "",
        weightSumFlag: String? = nil, usesMetaGPTLambdas: Bool = false, isStochastic: Bool = false,
        point: PointForm? = nil,
        kernel: @escaping @Sendable (KernelRequest) throws -> (any TensorKernel, [TensorSource])
    ) {
        self.method = method
        self.prettyName = prettyName
        self.reference = reference
        self.parameters = parameters
        self.basePolicy = basePolicy
        self.inputCount = inputCount
        self.inputDetail = inputDetail
        self.weightSumFlag = weightSumFlag
        self.usesMetaGPTLambdas = usesMetaGPTLambdas
        self.isStochastic = isStochastic
        self.point = point
        self.makeKernel = kernel
    }

    /// The spec of parameter `name`, if the method has one.
    func spec(_ name: String) -> ParameterSpec? { parameters.first { $0.name == name } }
}

/// Whether a method distinguishes the base model (MergeKit's `BasePolicy`).
enum BasePolicy: Sendable {
    /// The base is the reference the deltas are taken from.
    case required
    /// The base, when given, is one more input like the others (MergeKit appends it to the inputs).
    case ignored
    /// The base, when given, is the reference the others are taken relative to; without one the inputs are used
    /// as they are (MergeKit's `Optional[base_tensor]`).
    case optional
}

/// How a method linear in the task vectors gives its coefficients c in θ = θ0 + Σ c τ (``PreparedMerge``'s
/// `linearPoint`).
enum PointForm: Sendable {
    /// `linear`: c_t = w_t / Σ w (or w_t without `normalize`, when Σ w = 1).
    case weightedAverage
    /// `task_arithmetic`: c_t = λ·w_t (divided by Σ w with `normalize`).
    case taskArithmetic
    /// `metagpt` with global λ: c_t = `lambda`·λ_t.
    case metaGPT
}
