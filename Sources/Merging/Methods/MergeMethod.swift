/// The merge methods MetaMerge implements: MergeKit 0.1.5's (same names, parameters, defaults and arithmetic)
/// and MetaGPT with its TIES and DARE combinations. `docs/methods.md` gives each one's formula.
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

    /// How the method's kernel treats the deltas, for the generalized task arithmetic family.
    var sparsification: Sparsification? {
        switch self {
        case .ties, .metagptTies: .magnitude
        case .dareLinear, .dareTies, .metagptDare: .random
        case .breadcrumbs, .breadcrumbsTies: .magnitudeOutliers
        case .della, .dellaLinear: .dellaMagprune
        default: nil
        }
    }

    /// Whether TIES' sign election (`sum` consensus on weight-scaled deltas) is applied.
    var usesSignConsensus: Bool {
        switch self {
        case .ties, .dareTies, .breadcrumbsTies, .della, .metagptTies: true
        default: false
        }
    }

    /// The generalized task arithmetic family (MergeKit's `GeneralizedTaskArithmeticMerge`), plus the MetaGPT
    /// combinations, which run the same kernel with MetaGPT's λ as weights.
    var isTaskArithmeticFamily: Bool {
        switch self {
        case .taskArithmetic, .ties, .dareLinear, .dareTies, .breadcrumbs, .breadcrumbsTies, .della, .dellaLinear,
            .metagptTies, .metagptDare:
            true
        default: false
        }
    }

    var isMetaGPT: Bool { self == .metagpt || self == .metagptTies || self == .metagptDare }

    /// Whether results depend on the random seed.
    public var isStochastic: Bool {
        sparsification == .random || sparsification == .dellaMagprune
    }

    var basePolicy: BasePolicy {
        switch self {
        case .linear, .passthrough, .karcher: .ignored
        case .nuslerp, .multislerp: .optional
        default: .required
        }
    }

    /// (minimum, maximum) number of inputs, the base included, as MergeKit's input contracts.
    var inputCount: (min: Int, max: Int?) {
        switch self {
        case .slerp, .nearswap, .arceeFusion: (2, 2)
        case .nuslerp: (2, 3)
        case .modelStock: (3, nil)
        case .passthrough: (1, 1)
        case .metagpt, .metagptTies, .metagptDare: (2, nil)
        default: (1, nil)
        }
    }

    var parameters: [ParameterSpec] {
        switch self {
        case .linear:
            return [
                ParameterSpec("weight", .float, .input),
                ParameterSpec("normalize", .bool, .shared, default: .bool(true)),
            ]
        case .modelStock:
            return [ParameterSpec("filter_wise", .bool, .shared, default: .bool(false))]
        case .slerp:
            return [ParameterSpec("t", .float, .shared, range: .unitInterval)]
        case .nuslerp:
            return [
                ParameterSpec("weight", .float, .nonBase),
                ParameterSpec("nuslerp_flatten", .bool, .shared, default: .bool(true)),
                ParameterSpec("nuslerp_row_wise", .bool, .shared, default: .bool(false)),
            ]
        case .multislerp:
            return [
                ParameterSpec("weight", .float, .nonBase),
                ParameterSpec("normalize_weights", .bool, .shared, default: .bool(true)),
                ParameterSpec("eps", .float, .shared, default: .number(1e-8), range: .tolerance),
            ]
        case .karcher:
            return [
                ParameterSpec("max_iter", .float, .shared, default: .number(10), range: .count),
                ParameterSpec("tol", .float, .shared, default: .number(1e-5), range: .tolerance),
            ]
        case .nearswap:
            return [ParameterSpec("t", .float, .shared, range: .nonNegative)]
        case .arceeFusion:
            return []
        case .ram:
            return [ParameterSpec("epsilon", .float, .shared, default: .number(1e-5), range: .tolerance)]
        case .ramplusTL:
            return [
                ParameterSpec("r", .float, .shared, default: .number(0.1), range: .nonNegative),
                ParameterSpec("alpha", .float, .shared, default: .number(0.2), range: .nonNegative),
                ParameterSpec("epsilon", .float, .shared, default: .number(1e-5), range: .tolerance),
            ]
        case .sce:
            return [
                ParameterSpec("int8_mask", .bool, .shared, default: .bool(false)),
                ParameterSpec("select_topk", .float, .shared, default: .number(1), range: .openUnitInterval),
            ]
        case .passthrough:
            return [ParameterSpec("scale", .float, .input, optional: true)]
        case .metagpt:
            return [
                ParameterSpec("lambda", .float, .shared, default: .number(1)),
                ParameterSpec("granularity", .choice(["global", "per_tensor"]), .shared, default: .string("global")),
            ]
        default:
            var specs = [
                ParameterSpec("int8_mask", .bool, .shared, default: .bool(false)),
                ParameterSpec("normalize", .bool, .shared, default: .bool(defaultNormalize)),
                ParameterSpec("rescale", .bool, .shared, default: .bool(defaultRescale)),
                ParameterSpec("lambda", .float, .shared, default: .number(1)),
            ]
            if isMetaGPT {
                specs += [
                    ParameterSpec(
                        "granularity", .choice(["global", "per_tensor"]), .shared, default: .string("global")),
                    ParameterSpec(
                        "norm_source", .choice(["original", "sparsified"]), .shared, default: .string("original")),
                ]
            } else {
                specs.append(ParameterSpec("weight", .float, .nonBase))
            }
            specs.append(ParameterSpec("density", .float, .nonBase, default: .number(1), range: .unitInterval))
            if sparsification == .magnitudeOutliers {
                specs.append(ParameterSpec("gamma", .float, .nonBase, default: .number(0.01), range: .unitInterval))
            }
            if sparsification == .dellaMagprune {
                specs.append(ParameterSpec("epsilon", .float, .nonBase, default: .number(0.15), range: .unitInterval))
            }
            return specs
        }
    }

    /// `normalize` default, from MergeKit's registry (`metagpt_ties` follows `ties`, `metagpt_dare` `dare_linear`).
    var defaultNormalize: Bool {
        switch self {
        case .ties, .della, .metagptTies: true
        default: false
        }
    }

    /// `rescale` default (L1-norm matching after sparsification), from MergeKit's registry.
    var defaultRescale: Bool {
        switch self {
        case .dareTies, .dareLinear, .della, .dellaLinear, .metagptDare: true
        default: false
        }
    }

    /// The name MergeKit's model card uses, with the paper.
    var prettyName: (name: String, url: String?) {
        switch self {
        case .linear: ("Linear", "https://arxiv.org/abs/2203.05482")
        case .taskArithmetic: ("Task Arithmetic", "https://arxiv.org/abs/2212.04089")
        case .ties: ("TIES", "https://arxiv.org/abs/2306.01708")
        case .dareTies: ("DARE TIES", "https://arxiv.org/abs/2311.03099")
        case .dareLinear: ("Linear DARE", "https://arxiv.org/abs/2311.03099")
        case .breadcrumbs: ("Model Breadcrumbs", "https://arxiv.org/abs/2312.06795")
        case .breadcrumbsTies: ("Model Breadcrumbs with TIES", "https://arxiv.org/abs/2312.06795")
        case .della: ("DELLA", "https://arxiv.org/abs/2406.11617")
        case .dellaLinear: ("Linear DELLA", "https://arxiv.org/abs/2406.11617")
        case .modelStock: ("Model Stock", "https://arxiv.org/abs/2403.19522")
        case .slerp: ("SLERP", "https://en.wikipedia.org/wiki/Slerp")
        case .sce: ("SCE", "https://arxiv.org/abs/2408.07990")
        case .passthrough: ("Passthrough", nil)
        case .metagpt: ("MetaGPT", "https://arxiv.org/abs/2406.11385")
        case .metagptTies: ("TIES + MetaGPT", "https://arxiv.org/abs/2406.11385")
        case .metagptDare: ("DARE + MetaGPT", "https://arxiv.org/abs/2406.11385")
        case .nuslerp: ("NuSLERP", nil)
        case .multislerp: ("Multi-SLERP", "https://goddard.blog/posts/multislerp-wow-what-a-cool-idea")
        case .karcher: ("Karcher Mean", "https://en.wikipedia.org/wiki/Karcher_mean")
        case .nearswap: ("NearSwap", "https://huggingface.co/alchemonaut/QuartetAnemoi-70B-t0.0001")
        case .arceeFusion: ("Arcee Fusion", "https://arcee.ai")
        case .ram: ("Reinforced Agent Merging", "https://arxiv.org/abs/2601.13572")
        case .ramplusTL: ("Reinforced Agent Merging Plus (Tensor-Local)", "https://arxiv.org/abs/2601.13572")
        }
    }
}

/// How a method reduces each task vector before combining (MergeKit's `SparsificationMethod`).
enum Sparsification: String, Sendable, Hashable {
    /// Keep the k = max(1, ⌊density·n⌋) largest |δ| of the tensor.
    case magnitude
    /// Keep each element with probability `density` (DARE).
    case random
    /// Drop the ⌊gamma·n⌋ largest |δ| and the smallest, keeping ⌊density·n⌋ (Model Breadcrumbs).
    case magnitudeOutliers = "magnitude_outliers"
    /// Keep with probability rising with |δ|'s rank within each row (DELLA).
    case dellaMagprune = "della_magprune"
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

/// Which inputs a parameter is given for (MergeKit's `ParameterScope`).
enum ParameterScope: Sendable {
    /// One value for the merge (from the global `parameters` only).
    case shared
    /// A value per input model, the base included.
    case input
    /// A value per input model other than the base.
    case nonBase
}

/// A parameter of a method: its name, type, scope and default (`nil` and not optional: required).
struct ParameterSpec: Sendable {
    let name: String
    let type: ParameterType
    let scope: ParameterScope
    let defaultValue: ParameterValue?
    let optional: Bool
    /// The values a number may take (every number must be finite).
    let range: ValueRange

    init(
        _ name: String, _ type: ParameterType, _ scope: ParameterScope, default defaultValue: ParameterValue? = nil,
        optional: Bool = false, range: ValueRange = .finite
    ) {
        self.name = name
        self.type = type
        self.scope = scope
        self.defaultValue = defaultValue
        self.optional = optional
        self.range = range
    }

    var isRequired: Bool { defaultValue == nil && !optional }
}
