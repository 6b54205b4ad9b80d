/// The merge methods MetaMerge implements: MergeKit 0.1.5's (same names, parameters, defaults and arithmetic)
/// and MetaGPT with its TIES and DARE combinations. `docs/methods.md` gives each one's formula; everything else
/// about a method — parameters, base policy, input count, kernel — is its row of ``MethodRegistry``.
public enum MergeMethod: String, CaseIterable, Sendable, Hashable {
    case linear
    case taskArithmetic = "task_arithmetic"
    case ties
    case dareLinear = "dare_linear"
    case dareTies = "dare_ties"
    case breadcrumbs
    case breadcrumbsTies = "breadcrumbs_ties"
    case della
    case dellaLinear = "della_linear"
    case modelStock = "model_stock"
    case slerp
    case sce
    case passthrough
    case metagpt
    case metagptTies = "metagpt_ties"
    case metagptDare = "metagpt_dare"
    case nuslerp
    case multislerp
    case karcher
    case nearswap
    case arceeFusion = "arcee_fusion"
    case ram
    case ramplusTL = "ramplus_tl"

    /// This method's row of ``MethodRegistry``.
    var definition: MethodDefinition { MethodRegistry.definitions[self]! }

    /// Whether results depend on the random seed.
    public var isStochastic: Bool { definition.isStochastic }
}
