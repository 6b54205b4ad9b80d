import Checkpoints
import Foundation
import SafeTensors

extension MergePlan {
    /// Opens the models a config names and plans every output tensor.
    ///
    /// Inputs are the `models:` entries in order, then `base_model` when it is not listed (MergeKit appends it).
    /// Tensors are those the inputs store (a tied `lm_head` reads the embedding), in model order: embeddings,
    /// layers, final norm, lm_head. Each tensor's parameters are resolved as MergeKit's `resolve_parameters`:
    /// a per-input parameter from the model's own `parameters:` first, then the global ones (a conditional that
    /// matches nothing falls through to the next), then the method's default; shared parameters from the global
    /// `parameters:` only. Gradients are evaluated at t = layer/(L − 1) (t = 1 for a one-layer model) and at t = 0
    /// for tensors outside the layers (embeddings, final norm, lm_head), as MergeKit 0.1.5's planner.
    ///
    /// - Throws: ``MergeConfigError`` naming the model, tensor or parameter; ``CheckpointError`` for an input
    ///   that cannot be opened.
    public init(configuration: MergeConfiguration, options: MergeOptions = MergeOptions()) throws {
        let method = configuration.method
        let file = configuration.file
        var notes: [String] = []

        // Inputs.
        var inputs: [Input] = []
        var seen: [String: String] = [:]
        func open(_ reference: String, parameters: [String: ParameterSetting], isBase: Bool, appended: Bool) throws {
            let resolved = try configuration.resolveReference(reference, allowingAdapter: true)
            var url = resolved.url
            let key = Self.inputKey(resolved)
            if let previous = seen[key] {
                throw MergeConfigError(
                    .incompatibleModels, file: file, "model '\(reference)' is listed twice (also as '\(previous)')")
            }
            seen[key] = reference
            var adapterURL = resolved.adapter
            if adapterURL == nil, !isBase, LoRAAdapter.isAdapterDirectory(url) {
                // A bare adapter directory: its task vector on the config's base_model.
                guard let base = configuration.baseModel else {
                    throw MergeConfigError(
                        .missingKey, file: file,
                        "model '\(reference)' is a LoRA adapter directory; a bare adapter needs 'base_model' (the "
                            + "model it adapts), or write it as BASE+ADAPTER")
                }
                adapterURL = url
                url = try configuration.resolveModel(base)
            }
            let checkpoint = try Checkpoint(directory: url)
            let adapter = try adapterURL.map { try LoRAAdapter(directory: $0) }
            try adapter?.check(against: checkpoint)
            inputs.append(
                Input(
                    reference: reference, url: url, isBase: isBase, appended: appended, checkpoint: checkpoint,
                    parameters: parameters, adapter: adapter))
        }
        var baseKey: String?
        if let base = configuration.baseModel {
            baseKey = Self.inputKey(try configuration.resolveReference(base, allowingAdapter: true))
        }
        for entry in configuration.models {
            let key = Self.inputKey(try configuration.resolveReference(entry.reference, allowingAdapter: true))
            try open(entry.reference, parameters: entry.parameters, isBase: key == baseKey, appended: false)
        }
        if let base = configuration.baseModel, !inputs.contains(where: \.isBase) {
            try open(base, parameters: [:], isBase: true, appended: true)
        }
        let baseIndex = inputs.firstIndex(where: \.isBase)
        // Shapes alone do not tell architectures apart: compare the configs (ArchitectureMatch).
        if let donor = baseIndex.map({ inputs[$0] }) ?? inputs.first {
            for input in inputs {
                if let (key, value, donorValue) = ArchitectureMatch.difference(
                    input.checkpoint.config, from: donor.checkpoint.config)
                {
                    let role = baseIndex == nil ? "the first model" : "base_model"
                    throw MergeConfigError(
                        .incompatibleModels, file: file,
                        "model '\(input.reference)': config.json says \(key) = \(value), but \(role) "
                            + "'\(donor.reference)' says \(donorValue); the models are of different architectures and "
                            + "cannot be merged"
                    )
                }
            }
        }

        // The method's contract.
        let definition = method.definition
        if definition.basePolicy == .required, baseIndex == nil {
            throw MergeConfigError(
                .missingKey, file: file,
                "merge_method \(method.rawValue) needs 'base_model' (the model the task vectors are taken from)")
        }
        let (minimum, maximum) = definition.inputCount
        let sliced = configuration.slices != nil
        if !(sliced && method == .passthrough), inputs.count < minimum || (maximum != nil && inputs.count > maximum!) {
            let expected =
                maximum == minimum
                ? "exactly \(minimum)" : maximum == nil ? "at least \(minimum)" : "at most \(maximum!)"
            throw MergeConfigError(
                .incompatibleModels, file: file,
                "merge_method \(method.rawValue) takes \(expected) input models\(definition.inputDetail), the base included; got "
                    + "\(inputs.count)"
            )
        }

        if method == .multislerp, inputs.indices.allSatisfy({ $0 == baseIndex }) {
            throw MergeConfigError(
                .incompatibleModels, file: file, "merge_method multislerp needs at least one model besides base_model")
        }
        if method == .nuslerp {
            let others = inputs.indices.filter { $0 != baseIndex }.map { inputs[$0].reference }
            if others.count != 2 {
                throw MergeConfigError(
                    .incompatibleModels, file: file,
                    "merge_method nuslerp interpolates exactly two models (plus an optional base_model that is not one "
                        + "of them); got \(others.count): \(others.joined(separator: ", "))"
                )
            }
        }

        // Parameters named that the method does not use are ignored, as MergeKit ignores them — but said.
        let known = Set(definition.parameters.map(\.name))
        let sharedNames = Set(definition.parameters.filter { $0.scope == .shared }.map(\.name))
        for name in configuration.parameters.keys.sorted() where !known.contains(name) {
            notes.append("parameter '\(name)' is not used by \(method.rawValue); ignored")
        }
        for input in inputs {
            for name in input.parameters.keys.sorted() {
                if !known.contains(name) {
                    notes.append(
                        "parameter '\(name)' of model '\(input.reference)' is not used by \(method.rawValue); ignored")
                } else if sharedNames.contains(name) {
                    notes.append(
                        "parameter '\(name)' applies to the whole merge; the value under model '\(input.reference)' is "
                            + "ignored (set it in the global parameters), as in MergeKit"
                    )
                }
            }
        }

        // The output vocabulary, when a tokenizer rule is given.
        let alignment = try configuration.tokenizer.map {
            try VocabularyAlignment(settings: $0, inputs: inputs, baseIndex: baseIndex, configuration: configuration)
        }

        // Tensors.
        let reference = inputs[baseIndex ?? 0].checkpoint
        let layerCount = Self.layerCount(of: reference)
        let files = WeightFiles()
        var tensors: [Tensor] = []
        var layerMap: [LayerMapEntry] = []
        if let slices = configuration.slices {
            (tensors, layerMap) = try Self.planSlices(
                slices, inputs: inputs, baseIndex: baseIndex, method: method, configuration: configuration,
                files: files,
                alignment: alignment, notes: &notes)
        } else {
            if method != .passthrough {
                let counts = inputs.map { Self.layerCount(of: $0.checkpoint) }
                if Set(counts).count > 1 {
                    let listing = zip(inputs, counts).map { "'\($0.reference)' \($1)" }.joined(separator: ", ")
                    throw MergeConfigError(
                        .incompatibleModels, file: file,
                        "the models have different layer counts (\(listing)); merge_method \(method.rawValue) merges "
                            + "layer i of every model with layer i of the others — give 'slices:' with a layer_range "
                            + "per model to choose aligned layers"
                    )
                }
            }
            var names = Set<String>()
            for input in inputs { names.formUnion(input.checkpoint.tensorNames) }
            let ordered = names.sorted { (TensorGroup(tensorName: $0), $0) < (TensorGroup(tensorName: $1), $1) }
            let global = configuration.parameters
            for name in ordered {
                let group = TensorGroup(tensorName: name)
                let t: Double
                if let layer = group.layerIndex {
                    t = layerCount > 1 ? Double(layer) / Double(layerCount - 1) : 1
                } else {
                    t = 0
                }
                let request = TensorRequest(
                    output: name, inputNames: inputs.map { _ in name },
                    inputParameters: inputs.map { [$0.parameters, global] },
                    sharedParameters: [global], t: t)
                tensors.append(
                    try Self.planTensor(
                        request, inputs: inputs, baseIndex: baseIndex, method: method, configuration: configuration,
                        files: files, alignment: alignment, notes: &notes))
            }
        }

        // Tokenizer and config donors.
        let configSource = inputs[baseIndex ?? 0].url
        var tokenizerSource = configSource
        if let alignment {
            tokenizerSource = alignment.tokenizerDirectory
            notes.append(
                "tokenizer: \(alignment.tokens.count) tokens, embedding rows aligned by token (\(alignment.rowCount) "
                    + "rows)"
            )
        }
        if configuration.tokenizer?.source == .base, baseIndex == nil {
            notes.append("tokenizer source base without a base_model: the first model's vocabulary is used")
        }

        self.configuration = configuration
        self.method = method
        self.inputs = inputs
        self.baseIndex = baseIndex
        self.tensors = tensors
        self.configSource = configSource
        self.tokenizerSource = tokenizerSource
        self.layerCount = configuration.slices == nil ? layerCount : layerMap.count
        self.layerMap = layerMap
        self.vocabulary = alignment
        self.notes = notes
        if let seed = options.randomSeed {
            self.seed = seed
            self.seedGiven = true
        } else {
            self.seed = UInt64.random(in: 0...UInt64(UInt32.max))
            self.seedGiven = false
        }
        self.files = files
    }

    /// One output tensor to plan: which tensor of each input it reads (nil: the input takes no part — a
    /// passthrough slice reads one model), where each input's parameters come from in precedence order, and the
    /// layer position gradients are evaluated at.
    struct TensorRequest {
        let output: String
        let inputNames: [String?]
        let inputParameters: [[[String: ParameterSetting]]]
        let sharedParameters: [[String: ParameterSetting]]
        let t: Double
    }

    static func planTensor(
        _ request: TensorRequest, inputs allInputs: [Input], baseIndex allBaseIndex: Int?, method: MergeMethod,
        configuration: MergeConfiguration, files: WeightFiles, alignment: VocabularyAlignment? = nil,
        notes: inout [String]
    ) throws -> Tensor {
        let file = configuration.file
        let name = request.output
        let t = request.t
        let participants = allInputs.indices.filter { request.inputNames[$0] != nil }
        let inputs = participants.map { allInputs[$0] }
        let baseIndex = allBaseIndex.flatMap { participants.firstIndex(of: $0) }
        var sources: [TensorSource] = []
        var missing: [String] = []
        let participantIndices = participants
        for index in participantIndices {
            let inputName = request.inputNames[index]!
            if let source = try files.source(
                inputName, in: allInputs[index].checkpoint, adapter: allInputs[index].adapter)
            {
                sources.append(source)
            } else {
                missing.append(
                    inputName == name ? allInputs[index].reference : "\(allInputs[index].reference) (as '\(inputName)')"
                )
            }
        }
        if !missing.isEmpty {
            let present = inputs.map(\.reference).filter { reference in !missing.contains { $0.hasPrefix(reference) } }
            throw MergeConfigError(
                .incompatibleModels, file: file,
                "tensor '\(name)' is missing from \(missing.joined(separator: ", ")) (stored by "
                    + "\(present.joined(separator: ", "))); the models are not of one architecture"
            )
        }
        var shapes = sources.map(\.shape)
        let group = TensorGroup(tensorName: name)

        let floating = sources.map(\.dtype.isFloatingPoint)
        if !floating.contains(true) {
            guard Set(shapes).count == 1, Set(sources.map(\.dtype)).count == 1 else {
                throw MergeConfigError(
                    .incompatibleModels, file: file,
                    "tensor '\(name)' (\(sources[0].dtype.rawValue)) differs in shape or dtype between the models")
            }
            let first = try rawBytes(sources[0], files: files)
            for (index, source) in sources.enumerated().dropFirst() where try rawBytes(source, files: files) != first {
                throw MergeConfigError(
                    .incompatibleModels, file: file,
                    "tensor '\(name)' is \(sources[0].dtype.rawValue) (not floating point) and differs between "
                        + "\(inputs[0].reference) and \(inputs[index].reference); MetaMerge copies such buffers only "
                        + "when every model agrees"
                )
            }
            return Tensor(
                name: name, shape: shapes[0], dtype: sources[0].dtype, inputShapes: shapes, layerPosition: t,
                isCopied: true,
                shared: [:], perInput: inputs.map { _ in [:] }, lambdas: nil, sources: sources)
        }
        if floating.contains(false) {
            throw MergeConfigError(
                .incompatibleModels, file: file,
                "tensor '\(name)' is floating point in some models and not in others "
                    + "(\(sources.map(\.dtype.rawValue).joined(separator: ", ")))"
            )
        }

        var shape = shapes[0]
        let dtype = configuration.outDtype ?? configuration.dtype ?? promotedDtype(sources.map(\.dtype))
        if let alignment, group == .embeddings || group == .lmHead {
            let tails = Set(shapes.map { Array($0.dropFirst()) })
            guard tails.count == 1 else {
                let listing = zip(inputs, shapes).map { "\($0.reference) \($1)" }.joined(separator: ", ")
                throw MergeConfigError(
                    .incompatibleModels, file: file,
                    "tensor '\(name)': shapes differ beyond the vocabulary rows (\(listing))")
            }
            sources = try alignment.alignedSources(
                tensor: name, models: participants, sources: sources, files: files, loadDtype: configuration.dtype,
                file: file)
            if Set(shapes.map { $0[0] }).count > 1 || shapes[0][0] != sources[0].shape[0] {
                notes.append(
                    "\(name): rows aligned by token to the output vocabulary "
                        + "(\(zip(inputs, shapes).map { "\($0.reference) \($1[0])" }.joined(separator: ", ")) → "
                        + "\(sources[0].shape[0]) rows)"
                )
            }
            shapes = sources.map(\.shape)
            shape = sources[0].shape
        } else if Set(shapes).count > 1 {
            let tails = Set(shapes.map { Array($0.dropFirst()) })
            if (group == .embeddings || group == .lmHead), tails.count == 1, shapes.allSatisfy({ $0.count == 2 }) {
                let listing = zip(inputs, shapes).map { "'\($0.reference)' \($1[0])" }.joined(separator: ", ")
                throw MergeConfigError(
                    .incompatibleModels, file: file,
                    "tensor '\(name)': vocabulary sizes differ (\(listing) rows); add 'tokenizer_source: base' (or "
                        + "union, or a model) or a 'tokenizer:' block so the rows are aligned by token, as MergeKit "
                        + "requires"
                )
            } else {
                let listing = zip(inputs, shapes).map { "\($0.reference) \($1)" }.joined(separator: ", ")
                throw MergeConfigError(
                    .incompatibleModels, file: file,
                    "tensor '\(name)': shapes differ (\(listing)); only embeddings and lm_head may differ, in their "
                        + "vocabulary rows"
                )
            }
        }

        var shared: [String: ParameterValue] = [:]
        var perInput = [[String: ParameterValue]](repeating: [:], count: inputs.count)
        let definition = method.definition
        for spec in definition.parameters {
            switch spec.scope {
            case .shared:
                if let value = try resolve(
                    spec, sources: request.sharedParameters, tensor: name, t: t, model: nil, file: file)
                {
                    shared[spec.name] = value
                }
            case .input, .nonBase:
                for (index, input) in inputs.enumerated() {
                    if spec.scope == .nonBase, index == baseIndex, definition.basePolicy != .ignored { continue }
                    if let value = try resolve(
                        spec, sources: request.inputParameters[participants[index]], tensor: name, t: t,
                        model: input.reference,
                        file: file)
                    {
                        perInput[index][spec.name] = value
                    }
                }
            }
        }
        try checkWeightSum(method: method, tensor: name, inputs: inputs, perInput: perInput, shared: shared, file: file)
        return Tensor(
            name: name, shape: shape, dtype: dtype, inputShapes: shapes, layerPosition: t, isCopied: false,
            shared: shared,
            perInput: perInput, lambdas: nil, sources: sources)
    }

    /// Refuses weights that sum to zero where the method divides by their sum (`linear` with `normalize: true`,
    /// `multislerp` with `normalize_weights: true`): the result would be ±∞/NaN. (The task-arithmetic family
    /// divides by 1 instead when |Σ| < 1e-8, and nuslerp takes t = 0.5 when |Σ| < 1e-6, as MergeKit.)
    private static func checkWeightSum(
        method: MergeMethod, tensor: String, inputs: [Input], perInput: [[String: ParameterValue]],
        shared: [String: ParameterValue], file: URL?
    ) throws {
        let definition = method.definition
        guard let key = definition.weightSumFlag,
            MethodParameters(definition, shared: shared, perInput: perInput).flag(key)
        else { return }
        let weighted = inputs.indices.compactMap { index in
            perInput[index]["weight"]?.number.map { (inputs[index].reference, $0) }
        }
        var sum: Float = 0
        for (_, weight) in weighted { sum += Float(weight) }
        guard sum == 0 else { return }
        let listing = weighted.map { "\($0.0) \(formatNumber($0.1))" }.joined(separator: ", ")
        throw MergeConfigError(
            .badValue, file: file,
            "tensor '\(tensor)': the weights sum to 0 (\(listing)) and \(key): true divides by their sum; change the "
                + "weights or set \(key): false"
        )
    }

    /// The first value the sources give, else the default; `nil` for an optional parameter with no value.
    private static func resolve(
        _ spec: ParameterSpec, sources: [[String: ParameterSetting]], tensor: String, t: Double, model: String?,
        file: URL?
    ) throws -> ParameterValue? {
        for source in sources {
            guard let setting = source[spec.name] else { continue }
            do {
                if let value = try setting.evaluate(tensorName: tensor, t: t, as: spec.type, parameter: spec.name) {
                    if let number = value.number, !spec.range.contains(number) {
                        throw MergeConfigError(
                            .badValue,
                            "parameter '\(spec.name)' evaluates to \(formatNumber(number)); it must be \(spec.range)")
                    }
                    return value
                }
            } catch let error as MergeConfigError {
                let owner = model.map { "model '\($0)', " } ?? ""
                throw MergeConfigError(
                    error.kind, file: file, "\(owner)tensor '\(tensor)': \(error.message)", cause: error)
            }
        }
        if let value = spec.defaultValue { return value }
        if spec.optional { return nil }
        let location = model.map { "model '\($0)', tensor '\(tensor)'" } ?? "tensor '\(tensor)'"
        throw MergeConfigError(
            .missingParameter, file: file, "missing required parameter '\(spec.name)' for \(location)")
    }

    /// What identifies an input: its folder's resolved path, and its adapter's for `BASE+ADAPTER`.
    static func inputKey(_ reference: ModelReference) -> String {
        let path = { (url: URL) in url.resolvingSymlinksInPath().standardizedFileURL.path }
        return path(reference.url) + (reference.adapter.map { "+" + path($0) } ?? "")
    }

    private static func rawBytes(_ source: TensorSource, files: WeightFiles) throws -> [UInt8] {
        let count = source.shape.reduce(1, *) * source.dtype.byteSize
        var bytes = [UInt8](repeating: 0, count: count)
        try bytes.withUnsafeMutableBytes { buffer in
            if count > 0 {
                try files.read(file: source.file, offset: source.offset, byteCount: count, into: buffer.baseAddress!)
            }
        }
        return bytes
    }

    /// PyTorch's type promotion over the inputs' storage dtypes (what MergeKit computes and writes in when neither
    /// `dtype` nor `out_dtype` is set): F16 with BF16 gives F32; F64 wins over everything.
    static func promotedDtype(_ dtypes: [DType]) -> DType {
        let set = Set(dtypes)
        if set.contains(.f64) { return .f64 }
        if set.contains(.f32) || (set.contains(.f16) && set.contains(.bf16)) { return .f32 }
        return set.first ?? .f32
    }
}
