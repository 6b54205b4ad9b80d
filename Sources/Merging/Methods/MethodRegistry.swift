/// The method table: one ``MethodDefinition`` per ``MergeMethod``, as MergeKit's
/// `mergekit/merge_methods/registry.py` lists its methods (the generalized task-arithmetic family as data rows
/// over one kernel). `docs/design.md` says how to add a method.
enum MethodRegistry {
    /// Each method's row.
    static let definitions: [MergeMethod: MethodDefinition] = Dictionary(
        uniqueKeysWithValues: rows.map { ($0.method, $0) })

    /// Every row, in ``MergeMethod`` order.
    static let rows: [MethodDefinition] = [
        MethodDefinition(
            .linear, "Linear", "https://arxiv.org/abs/2203.05482",
            parameters: [
                ParameterSpec("weight", .float, .input),
                ParameterSpec("normalize", .bool, .shared, default: .bool(true)),
            ],
            basePolicy: .ignored, weightSumFlag: "normalize", point: .weightedAverage
        ) { request in
            let parameters = LinearKernel.Parameters(request.parameters, inputs: request.plan.inputs.count)
            return (LinearKernel(parameters), request.inputSources)
        },
        taskArithmetic(.taskArithmetic, "Task Arithmetic", "https://arxiv.org/abs/2212.04089", point: .taskArithmetic),
        taskArithmetic(
            .ties, "TIES", "https://arxiv.org/abs/2306.01708", sparsification: .magnitude, consensus: true,
            normalize: true),
        taskArithmetic(
            .dareLinear, "Linear DARE", "https://arxiv.org/abs/2311.03099", sparsification: .random, rescale: true),
        taskArithmetic(
            .dareTies, "DARE TIES", "https://arxiv.org/abs/2311.03099", sparsification: .random, consensus: true,
            rescale: true),
        taskArithmetic(
            .breadcrumbs, "Model Breadcrumbs", "https://arxiv.org/abs/2312.06795",
            sparsification: .magnitudeOutliers),
        taskArithmetic(
            .breadcrumbsTies, "Model Breadcrumbs with TIES", "https://arxiv.org/abs/2312.06795",
            sparsification: .magnitudeOutliers, consensus: true),
        taskArithmetic(
            .della, "DELLA", "https://arxiv.org/abs/2406.11617", sparsification: .dellaMagprune, consensus: true,
            normalize: true, rescale: true),
        taskArithmetic(
            .dellaLinear, "Linear DELLA", "https://arxiv.org/abs/2406.11617", sparsification: .dellaMagprune,
            rescale: true),
        MethodDefinition(
            .modelStock, "Model Stock", "https://arxiv.org/abs/2403.19522",
            parameters: [ParameterSpec("filter_wise", .bool, .shared, default: .bool(false))],
            inputCount: (3, nil), inputDetail: " (the base and at least two fine-tunes)"
        ) { request in
            let kernel = ModelStockKernel(
                models: request.tasks.count, filterWise: request.parameters.flag("filter_wise"),
                shape: request.tensor.shape)
            return (kernel, request.baseFirstSources)
        },
        MethodDefinition(
            .slerp, "SLERP", "https://en.wikipedia.org/wiki/Slerp",
            parameters: [ParameterSpec("t", .float, .shared, range: .unitInterval)],
            inputCount: (2, 2), inputDetail: " (the base and one other model)"
        ) { request in
            (SlerpKernel(t: request.parameters.number("t")), request.baseFirstSources)
        },
        MethodDefinition(
            .sce, "SCE", "https://arxiv.org/abs/2408.07990",
            parameters: [
                ParameterSpec("int8_mask", .bool, .shared, default: .bool(false)),
                ParameterSpec("select_topk", .float, .shared, default: .number(1), range: .openUnitInterval),
            ]
        ) { request in
            let kernel = SCEKernel(
                tasks: request.tasks.count, count: request.tensor.elementCount,
                selectTopK: request.parameters.number("select_topk"))
            return (kernel, request.baseFirstSources)
        },
        MethodDefinition(
            .passthrough, "Passthrough", nil,
            parameters: [ParameterSpec("scale", .float, .input, optional: true)],
            basePolicy: .ignored, inputCount: (1, 1),
            inputDetail: " (passthrough copies one model; a base_model not listed counts as a second input)"
        ) { request in
            (PassthroughKernel(scale: request.parameters.optionalNumber("scale", input: 0)), request.inputSources)
        },
        MethodDefinition(
            .metagpt, "MetaGPT", "https://arxiv.org/abs/2406.11385",
            parameters: [
                ParameterSpec("lambda", .float, .shared, default: .number(1)),
                ParameterSpec("granularity", .choice(["global", "per_tensor"]), .shared, default: .string("global")),
            ],
            inputCount: (2, nil), inputDetail: " (the base and at least one task model)", usesMetaGPTLambdas: true,
            point: .metaGPT
        ) { request in
            let kernel = MetaGPTKernel(lambdas: try request.lambdas(), scale: request.parameters.number("lambda"))
            return (kernel, request.baseFirstSources)
        },
        taskArithmetic(
            .metagptTies, "TIES + MetaGPT", "https://arxiv.org/abs/2406.11385", sparsification: .magnitude,
            consensus: true, normalize: true, metaGPT: true),
        taskArithmetic(
            .metagptDare, "DARE + MetaGPT", "https://arxiv.org/abs/2406.11385", sparsification: .random,
            rescale: true, metaGPT: true),
        MethodDefinition(
            .nuslerp, "NuSLERP", nil,
            parameters: [
                ParameterSpec("weight", .float, .nonBase),
                ParameterSpec("nuslerp_flatten", .bool, .shared, default: .bool(true)),
                ParameterSpec("nuslerp_row_wise", .bool, .shared, default: .bool(false)),
            ],
            basePolicy: .optional, inputCount: (2, 3), inputDetail: " (two models, plus an optional base_model)"
        ) { request in
            let tensor = request.tensor
            let weights = request.perTask("weight")
            let flatten = request.parameters.flag("nuslerp_flatten")
            let rowWise = request.parameters.flag("nuslerp_row_wise")
            let mode: NuSlerpKernel.Mode = flatten ? .flatten : rowWise ? .columns : .rows
            if mode == .columns, tensor.shape.count > 2 {
                throw MergeConfigError(
                    .incompatibleModels,
                    "tensor '\(tensor.name)': nuslerp_row_wise is implemented for tensors of at most 2 dimensions "
                        + "(shape \(tensor.shape))"
                )
            }
            let kernel = NuSlerpKernel(
                weights: (weights[0], weights[1]), mode: mode, hasBase: request.plan.baseIndex != nil,
                shape: tensor.shape)
            return (kernel, request.baseFirstSources)
        },
        MethodDefinition(
            .multislerp, "Multi-SLERP", "https://goddard.blog/posts/multislerp-wow-what-a-cool-idea",
            parameters: [
                ParameterSpec("weight", .float, .nonBase),
                ParameterSpec("normalize_weights", .bool, .shared, default: .bool(true)),
                ParameterSpec("eps", .float, .shared, default: .number(1e-8), range: .tolerance),
            ],
            basePolicy: .optional, weightSumFlag: "normalize_weights"
        ) { request in
            let kernel = MultiSlerpKernel(
                name: request.tensor.name, tasks: request.tasks.count, hasBase: request.plan.baseIndex != nil,
                weights: request.perTask("weight"), normalizeWeights: request.parameters.flag("normalize_weights"),
                epsilon: request.parameters.number("eps"))
            return (kernel, request.baseFirstSources)
        },
        MethodDefinition(
            .karcher, "Karcher Mean", "https://en.wikipedia.org/wiki/Karcher_mean",
            parameters: [
                ParameterSpec("max_iter", .float, .shared, default: .number(10), range: .count),
                ParameterSpec("tol", .float, .shared, default: .number(1e-5), range: .tolerance),
            ],
            basePolicy: .ignored
        ) { request in
            let kernel = KarcherKernel(
                inputs: request.plan.inputs.count, maxIterations: Int(request.parameters.number("max_iter")),
                tolerance: request.parameters.number("tol"))
            return (kernel, request.inputSources)
        },
        MethodDefinition(
            .nearswap, "NearSwap", "https://huggingface.co/alchemonaut/QuartetAnemoi-70B-t0.0001",
            parameters: [ParameterSpec("t", .float, .shared, range: .nonNegative)],
            inputCount: (2, 2), inputDetail: " (the base and one other model)"
        ) { request in
            (NearSwapKernel(t: request.parameters.number("t")), request.baseFirstSources)
        },
        MethodDefinition(
            .arceeFusion, "Arcee Fusion", "https://arcee.ai", parameters: [], inputCount: (2, 2),
            inputDetail: " (the base and one other model)"
        ) { request in
            (ArceeFusionKernel(shape: request.tensor.shape), request.baseFirstSources)
        },
        MethodDefinition(
            .ram, "Reinforced Agent Merging", "https://arxiv.org/abs/2601.13572",
            parameters: [ParameterSpec("epsilon", .float, .shared, default: .number(1e-5), range: .tolerance)]
        ) { request in
            let kernel = RAMKernel(tasks: request.tasks.count, epsilon: request.parameters.number("epsilon"), plus: nil)
            return (kernel, request.baseFirstSources)
        },
        MethodDefinition(
            .ramplusTL, "Reinforced Agent Merging Plus (Tensor-Local)", "https://arxiv.org/abs/2601.13572",
            parameters: [
                ParameterSpec("r", .float, .shared, default: .number(0.1), range: .nonNegative),
                ParameterSpec("alpha", .float, .shared, default: .number(0.2), range: .nonNegative),
                ParameterSpec("epsilon", .float, .shared, default: .number(1e-5), range: .tolerance),
            ]
        ) { request in
            let parameters = request.parameters
            let plus = (r: parameters.number("r"), alpha: parameters.number("alpha"))
            let kernel = RAMKernel(tasks: request.tasks.count, epsilon: parameters.number("epsilon"), plus: plus)
            return (kernel, request.baseFirstSources)
        },
    ]

    /// A row of MergeKit's generalized task arithmetic (`GeneralizedTaskArithmeticMerge`): its sparsification,
    /// whether TIES' sign election (`sum` consensus on weight-scaled deltas) is applied, and the `normalize` /
    /// `rescale` defaults of `registry.py`. With `metaGPT`, the weights are MetaGPT's λ (`metagpt_ties` follows
    /// `ties`, `metagpt_dare` `dare_linear`).
    static func taskArithmetic(
        _ method: MergeMethod, _ prettyName: String, _ reference: String, sparsification: Sparsification? = nil,
        consensus: Bool = false, normalize: Bool = false, rescale: Bool = false, metaGPT: Bool = false,
        point: PointForm? = nil
    ) -> MethodDefinition {
        var specs = [
            ParameterSpec("int8_mask", .bool, .shared, default: .bool(false)),
            ParameterSpec("normalize", .bool, .shared, default: .bool(normalize)),
            ParameterSpec("rescale", .bool, .shared, default: .bool(rescale)),
            ParameterSpec("lambda", .float, .shared, default: .number(1)),
        ]
        if metaGPT {
            specs += [
                ParameterSpec("granularity", .choice(["global", "per_tensor"]), .shared, default: .string("global")),
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
        return MethodDefinition(
            method, prettyName, reference, parameters: specs,
            inputCount: metaGPT ? (2, nil) : (1, nil),
            inputDetail: metaGPT ? " (the base and at least one task model)" : "", usesMetaGPTLambdas: metaGPT,
            isStochastic: sparsification == .random || sparsification == .dellaMagprune, point: point
        ) { request in
            let settings = TaskArithmeticKernel.Settings(
                request, sparsification: sparsification, consensus: consensus,
                weights: try metaGPT ? request.lambdas(measuring: true) : request.perTask("weight"))
            let kernel = try TaskArithmeticKernel(
                name: request.tensor.name, shape: request.tensor.shape, settings: settings, mode: request.mode)
            return (kernel, request.baseFirstSources)
        }
    }
}
