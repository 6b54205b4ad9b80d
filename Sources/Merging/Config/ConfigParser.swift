import Foundation
import SafeTensors
import Statistics
import Yams

/// Turns MergeKit YAML into the parts of a ``MergeConfiguration``, refusing what MetaMerge does not implement.
struct ConfigParser {
    let file: URL?

    struct Parsed {
        var method: MergeMethod
        var models: [MergeConfiguration.ModelEntry]
        var baseModel: String?
        var parameters: [String: ParameterSetting]
        var dtype: DType?
        var outDtype: DType?
        var tokenizerSource: String?
        var gate: GateThresholds?
        var slices: [MergeConfiguration.OutputSlice]?
        var tokenizer: TokenizerSettings?
    }

    static let knownKeys = [
        "models", "slices", "base_model", "merge_method", "parameters", "dtype", "out_dtype", "tokenizer_source",
        "tokenizer", "gate",
    ]
    /// MergeKit keys MetaMerge does not implement, with what to do instead.
    static let unsupportedKeys: [String: String] = [
        "modules": "multi-module configs are not supported; list whole models under `models:`",
        "chat_template": "setting a chat template is not supported; edit tokenizer_config.json of the output instead",
    ]

    func error(
        _ kind: MergeConfigError.Kind, _ message: String, cause: (any Error & Sendable)? = nil
    ) -> MergeConfigError {
        MergeConfigError(kind, file: file, message, cause: cause)
    }

    /// The largest config text parsed: YAML parsing costs tens of microseconds per scalar, so a config of
    /// megabytes (a gradient of 10⁶ values) would take seconds before anything could be checked.
    static let maxConfigBytes = 1 << 20
    /// The most output layers `slices:` may build (the sum of their `layer_range` lengths): planning costs a little
    /// per output tensor, and the largest models have fewer than 200 layers.
    static let maxSliceLayers = 1024

    func parse(_ yaml: String) throws -> Parsed {
        guard yaml.utf8.count <= Self.maxConfigBytes else {
            throw self.error(
                .syntax,
                "the config is \(yaml.utf8.count) bytes; at most \(Self.maxConfigBytes) (1 MiB) are read — a MergeKit "
                    + "config is a few kB")
        }
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch {
            throw self.error(
                .syntax, "not valid YAML: \(String(describing: error).split(separator: "\n").joined(separator: " "))",
                cause: error)
        }
        guard let root, case .mapping(let top) = root else {
            throw self.error(.syntax, "expected a YAML mapping at the top level (models, base_model, merge_method, …)")
        }
        let entries = try mapping(top, context: "the config")

        for (key, _) in entries {
            if let advice = Self.unsupportedKeys[key] {
                throw self.error(.unsupportedKey, "unsupported key '\(key)': \(advice)")
            }
            if !Self.knownKeys.contains(key) {
                throw self.error(
                    .unknownKey, "unknown key '\(key)'; a config has " + Self.knownKeys.joined(separator: ", "))
            }
        }
        let values = Dictionary(uniqueKeysWithValues: entries)

        guard let methodNode = values["merge_method"] else {
            throw self.error(
                .missingKey,
                "missing key 'merge_method' (one of \(MergeMethod.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        guard let methodName = scalarString(methodNode) else {
            throw self.error(.badValue, "'merge_method' must be a method name")
        }
        guard let method = MergeMethod(rawValue: methodName) else {
            let supported = MergeMethod.allCases.map(\.rawValue).joined(separator: ", ")
            throw self.error(.unknownMethod, "unknown merge_method '\(methodName)'; supported: \(supported)")
        }

        var models: [MergeConfiguration.ModelEntry] = []
        var slices: [MergeConfiguration.OutputSlice]?
        if let slicesNode = values["slices"] {
            if values["models"] != nil {
                throw self.error(.badValue, "give either 'models' or 'slices', not both")
            }
            let parsed = try sliceList(slicesNode)
            slices = parsed
            for source in parsed.flatMap(\.sources) where !models.contains(where: { $0.reference == source.reference })
            {
                models.append(MergeConfiguration.ModelEntry(reference: source.reference))
            }
        } else {
            guard let modelsNode = values["models"] else {
                throw self.error(.missingKey, "missing key 'models' (a list of `- model: PATH` entries) or 'slices'")
            }
            guard case .sequence(let modelSequence) = modelsNode, !modelSequence.isEmpty else {
                throw self.error(.badValue, "'models' must be a non-empty list of `- model: PATH` entries")
            }
            for (index, node) in modelSequence.enumerated() {
                models.append(try modelEntry(node, index: index))
            }
        }

        var baseModel: String?
        if let node = values["base_model"], !isNull(node) {
            guard let reference = scalarString(node) else {
                throw self.error(.badValue, "'base_model' must be a model path")
            }
            try checkReference(reference, key: "base_model")
            baseModel = reference
        }

        var parameters: [String: ParameterSetting] = [:]
        if let node = values["parameters"], !isNull(node) {
            parameters = try parameterBlock(node, context: "parameters")
        }

        let dtype = try dtypeValue(values["dtype"], key: "dtype")
        let outDtype = try dtypeValue(values["out_dtype"], key: "out_dtype")

        var tokenizerSource: String?
        var tokenizer: TokenizerSettings?
        if let node = values["tokenizer_source"], !isNull(node) {
            guard let source = scalarString(node) else {
                throw self.error(.badValue, "'tokenizer_source' must be `base`, `union` or a model path")
            }
            if source != "base", source != "union" { try checkReference(source, key: "tokenizer_source") }
            tokenizerSource = source
            tokenizer = TokenizerSettings(source: tokenizerSourceValue(source), tokens: [], padToMultipleOf: nil)
        }
        if let node = values["tokenizer"], !isNull(node) {
            if tokenizer != nil {
                throw self.error(.badValue, "give either 'tokenizer_source' or 'tokenizer', not both (as MergeKit)")
            }
            tokenizer = try tokenizerBlock(node)
        }
        if let tokenizer {
            let known = Set(models.map(\.reference) + (baseModel.map { [$0] } ?? []))
            for token in tokenizer.tokens {
                if let model = token.source?.model, !known.contains(model) {
                    throw self.error(
                        .badValue,
                        "tokenizer.tokens.\(token.content).source names model '\(model)', which is not in the config "
                            + "(models: \(known.sorted().joined(separator: ", ")))"
                    )
                }
            }
            if case .model(let model) = tokenizer.source, tokenizerSource == nil, !known.contains(model) {
                try checkReference(model, key: "tokenizer.source")
            }
        }

        var gate: GateThresholds?
        if let node = values["gate"], !isNull(node) {
            gate = try gateBlock(node)
        }
        try validateParameters(method: method, global: parameters, models: models)
        for (index, slice) in (slices ?? []).enumerated() {
            try validateParameters(
                method: method, global: slice.parameters, models: [], owner: "slices[\(index)].parameters")
            for (number, source) in slice.sources.enumerated() {
                try validateParameters(
                    method: method, global: source.parameters, models: [],
                    owner: "slices[\(index)].sources[\(number)] ('\(source.reference)') parameters")
            }
        }
        return Parsed(
            method: method, models: models, baseModel: baseModel, parameters: parameters, dtype: dtype,
            outDtype: outDtype, tokenizerSource: tokenizerSource, gate: gate, slices: slices, tokenizer: tokenizer)
    }

    // MARK: Pieces

    /// The key/value pairs of a mapping with string keys; duplicate keys are refused (YAML readers differ on them).
    func mapping(_ mapping: Node.Mapping, context: String) throws -> [(String, Node)] {
        var result: [(String, Node)] = []
        var seen = Set<String>()
        for (keyNode, value) in mapping {
            guard let key = scalarString(keyNode) else {
                throw self.error(.syntax, "\(context): keys must be plain strings")
            }
            guard seen.insert(key).inserted else {
                throw self.error(.syntax, "\(context): key '\(key)' appears twice")
            }
            result.append((key, value))
        }
        return result
    }

    func modelEntry(_ node: Node, index: Int) throws -> MergeConfiguration.ModelEntry {
        guard case .mapping(let map) = node else {
            throw self.error(
                .badValue, "models[\(index)]: expected a mapping `model: PATH` (with optional `parameters:`)")
        }
        let entries = try mapping(map, context: "models[\(index)]")
        var reference: String?
        var parameters: [String: ParameterSetting] = [:]
        for (key, value) in entries {
            switch key {
            case "model":
                guard let text = scalarString(value) else {
                    throw self.error(.badValue, "models[\(index)].model must be a model path")
                }
                reference = text
            case "parameters":
                if !isNull(value) { parameters = try parameterBlock(value, context: "models[\(index)].parameters") }
            default:
                throw self.error(
                    .unknownKey, "models[\(index)]: unknown key '\(key)' (a model entry has `model` and `parameters`)")
            }
        }
        guard let reference else {
            throw self.error(.missingKey, "models[\(index)]: missing key 'model'")
        }
        try checkReference(reference, key: "models[\(index)].model")
        return MergeConfiguration.ModelEntry(reference: reference, parameters: parameters)
    }

    func tokenizerSourceValue(_ text: String) -> TokenizerSettings.Source {
        switch text {
        case "base": .base
        case "union": .union
        default: .model(text)
        }
    }

    /// The `tokenizer:` block: `source` (default `union`), `tokens`, `pad_to_multiple_of`.
    func tokenizerBlock(_ node: Node) throws -> TokenizerSettings {
        guard case .mapping(let map) = node else {
            throw self.error(.badValue, "'tokenizer' must be a mapping with source, tokens, pad_to_multiple_of")
        }
        var source = TokenizerSettings.Source.union
        var tokens: [TokenizerSettings.Token] = []
        var pad: Int?
        for (key, value) in try mapping(map, context: "tokenizer") {
            switch key {
            case "source":
                guard let text = scalarString(value) else {
                    throw self.error(.badValue, "tokenizer.source must be `base`, `union` or a model path")
                }
                if text != "base", text != "union" { try checkReference(text, key: "tokenizer.source") }
                source = tokenizerSourceValue(text)
            case "tokens":
                if isNull(value) { continue }
                guard case .mapping(let entries) = value else {
                    throw self.error(.badValue, "tokenizer.tokens must map token strings to {source, force}")
                }
                for (token, entry) in try mapping(entries, context: "tokenizer.tokens") {
                    tokens.append(try tokenEntry(token, entry))
                }
            case "pad_to_multiple_of":
                if isNull(value) { continue }
                guard let text = scalarString(value), let number = Int(text), number > 0 else {
                    throw self.error(.badValue, "tokenizer.pad_to_multiple_of must be a whole number > 0")
                }
                guard number <= VocabularyAlignment.maximumRows else {
                    throw self.error(
                        .badValue,
                        "tokenizer.pad_to_multiple_of: \(number) is out of range; the padded vocabulary may have at "
                            + "most \(VocabularyAlignment.maximumRows) rows (2^24), so it must be in [1, "
                            + "\(VocabularyAlignment.maximumRows)]")
                }
                pad = number
            default:
                throw self.error(
                    .unknownKey, "tokenizer: unknown key '\(key)' (expected source, tokens, pad_to_multiple_of)")
            }
        }
        return TokenizerSettings(source: source, tokens: tokens, padToMultipleOf: pad)
    }

    func tokenEntry(_ token: String, _ node: Node) throws -> TokenizerSettings.Token {
        let context = "tokenizer.tokens.\(token)"
        guard case .mapping(let map) = node else {
            throw self.error(
                .badValue,
                "\(context) must be {source: MODEL | {kind: zero} | {kind: model_token, model, token|token_id}, force: "
                    + "BOOL}"
            )
        }
        var source: TokenizerSettings.Embedding?
        var force = false
        for (key, value) in try mapping(map, context: context) {
            switch key {
            case "source":
                if isNull(value) { continue }
                if let text = scalarString(value) {
                    try checkReference(text, key: "\(context).source")
                    source = .model(text)
                    continue
                }
                guard case .mapping(let inner) = value else {
                    throw self.error(
                        .badValue, "\(context).source must be a model path or {kind: zero | model_token, …}")
                }
                let fields = Dictionary(uniqueKeysWithValues: try mapping(inner, context: "\(context).source"))
                switch fields["kind"].flatMap(scalarString) {
                case "zero":
                    source = .zero
                case "model_token":
                    guard let model = fields["model"].flatMap(scalarString) else {
                        throw self.error(.missingKey, "\(context).source: model_token needs 'model'")
                    }
                    let text = fields["token"].flatMap(scalarString)
                    let id = fields["token_id"].flatMap(scalarString).flatMap { Int($0) }
                    if (text == nil) == (id == nil) {
                        throw self.error(
                            .badValue, "\(context).source: model_token needs exactly one of 'token' and 'token_id'")
                    }
                    if let id, id < 0 { throw self.error(.badValue, "\(context).source.token_id must be ≥ 0") }
                    source = .modelToken(model: model, token: text, tokenID: id)
                default:
                    throw self.error(.badValue, "\(context).source.kind must be `zero` or `model_token`")
                }
            case "force":
                guard
                    let flag = try ParameterType.bool.validate(
                        try scalar(value, context: "\(context).force"), parameter: "force"
                    ).bool
                else {
                    throw self.error(.badValue, "\(context).force must be true or false")
                }
                force = flag
            default:
                throw self.error(.unknownKey, "\(context): unknown key '\(key)' (expected source, force)")
            }
        }
        return TokenizerSettings.Token(content: token, source: source, force: force)
    }

    /// `slices: [{sources: [{model, layer_range: [a, b], parameters}], parameters}]`.
    ///
    /// Each `layer_range` is two whole numbers 0 ≤ a < b (checked against the model's layer count when planned); the
    /// sources of one slice must have ranges of equal length and name each model at most once (MergeKit's rule).
    func sliceList(_ node: Node) throws -> [MergeConfiguration.OutputSlice] {
        guard case .sequence(let sequence) = node, !sequence.isEmpty else {
            throw self.error(
                .badValue, "'slices' must be a non-empty list of `- sources: [{model, layer_range: [a, b]}]` entries")
        }
        var slices: [MergeConfiguration.OutputSlice] = []
        var layers = 0
        for (index, element) in sequence.enumerated() {
            let context = "slices[\(index)]"
            guard case .mapping(let map) = element else {
                throw self.error(.badValue, "\(context): expected a mapping with 'sources'")
            }
            var sources: [MergeConfiguration.SliceSource]?
            var parameters: [String: ParameterSetting] = [:]
            for (key, value) in try mapping(map, context: context) {
                switch key {
                case "sources":
                    guard case .sequence(let list) = value, !list.isEmpty else {
                        throw self.error(
                            .badValue, "\(context).sources must be a non-empty list of `{model, layer_range: [a, b]}`")
                    }
                    sources = try list.enumerated().map { try sliceSource($1, context: "\(context).sources[\($0)]") }
                case "parameters":
                    if !isNull(value) { parameters = try parameterBlock(value, context: "\(context).parameters") }
                case "base_model":
                    throw self.error(
                        .unsupportedKey,
                        "\(context): unsupported key 'base_model' in a slice; set base_model at the top level")
                case "residual_weight":
                    throw self.error(
                        .unsupportedKey,
                        "\(context): unsupported key 'residual_weight' (MergeKit 0.1.5 accepts it but never uses it)")
                default:
                    throw self.error(
                        .unknownKey, "\(context): unknown key '\(key)' (a slice has `sources` and `parameters`)")
                }
            }
            guard let sources else {
                throw self.error(.missingKey, "\(context): missing key 'sources'")
            }
            var seen: [String: Range<Int>] = [:]
            for source in sources {
                if let other = seen[source.reference] {
                    throw self.error(
                        .badValue,
                        "\(context).sources: model '\(source.reference)' appears twice (layer_range "
                            + "[\(other.lowerBound), \(other.upperBound)] and [\(source.layers.lowerBound), "
                            + "\(source.layers.upperBound)]); a slice merges each model's layers once — use another "
                            + "slice for more layers"
                    )
                }
                seen[source.reference] = source.layers
            }
            let lengths = Set(sources.map(\.layers.count))
            if lengths.count > 1 {
                let listing = sources.map { "'\($0.reference)' [\($0.layers.lowerBound), \($0.layers.upperBound)]" }
                    .joined(separator: ", ")
                throw self.error(
                    .badValue,
                    "\(context).sources: layer_range lengths differ (\(listing)); every source of a slice must give "
                        + "the same number of layers"
                )
            }
            slices.append(MergeConfiguration.OutputSlice(sources: sources, parameters: parameters))
            layers += slices[slices.count - 1].length
            if layers > Self.maxSliceLayers {
                throw self.error(
                    .badValue,
                    "slices: slices[0…\(index)] already build \(layers) output layers; at most \(Self.maxSliceLayers) "
                        + "are allowed")
            }
        }
        return slices
    }

    func sliceSource(_ node: Node, context: String) throws -> MergeConfiguration.SliceSource {
        guard case .mapping(let map) = node else {
            throw self.error(.badValue, "\(context): expected `{model: PATH, layer_range: [a, b]}`")
        }
        var reference: String?
        var range: Range<Int>?
        var parameters: [String: ParameterSetting] = [:]
        for (key, value) in try mapping(map, context: context) {
            switch key {
            case "model":
                guard let text = scalarString(value) else {
                    throw self.error(.badValue, "\(context).model must be a model path")
                }
                try checkReference(text, key: "\(context).model")
                reference = text
            case "layer_range":
                guard case .sequence(let bounds) = value, bounds.count == 2,
                    let a = scalarString(bounds[0]).flatMap({ Int($0) }),
                    let b = scalarString(bounds[1]).flatMap({ Int($0) })
                else {
                    throw self.error(.badValue, "\(context).layer_range must be two whole numbers [first, end)")
                }
                guard a >= 0, b > a else {
                    throw self.error(
                        .badValue,
                        "\(context).layer_range [\(a), \(b)] is empty or reversed; it must be [a, b] with 0 ≤ a < b "
                            + "(layers a to b − 1)"
                    )
                }
                range = a..<b
            case "parameters":
                if !isNull(value) { parameters = try parameterBlock(value, context: "\(context).parameters") }
            default:
                throw self.error(
                    .unknownKey,
                    "\(context): unknown key '\(key)' (a slice source has `model`, `layer_range` and `parameters`)")
            }
        }
        guard let reference else { throw self.error(.missingKey, "\(context): missing key 'model'") }
        guard let range else { throw self.error(.missingKey, "\(context): missing key 'layer_range'") }
        return MergeConfiguration.SliceSource(reference: reference, layers: range, parameters: parameters)
    }

    /// Refuses an empty model reference. `+` (`model+lora`) and `@` (`model@revision`) are read when the reference
    /// is resolved (``ModelReference``): an existing path containing them is a path.
    func checkReference(_ reference: String, key: String) throws {
        if reference.isEmpty {
            throw self.error(.badValue, "\(key): empty model path")
        }
    }

    func parameterBlock(_ node: Node, context: String) throws -> [String: ParameterSetting] {
        guard case .mapping(let map) = node else {
            throw self.error(.badValue, "\(context): expected a mapping of parameter names to values")
        }
        var result: [String: ParameterSetting] = [:]
        for (name, value) in try mapping(map, context: context) {
            result[name] = try setting(value, context: "\(context).\(name)")
        }
        return result
    }

    /// A scalar, a gradient (list of scalars), a `{filter, value}` mapping, or a list of them.
    func setting(_ node: Node, context: String) throws -> ParameterSetting {
        switch node {
        case .scalar:
            return .scalar(try scalar(node, context: context))
        case .mapping(let map):
            return .conditional([try condition(map, context: context)])
        case .sequence(let sequence):
            if sequence.isEmpty {
                throw self.error(.badGradient, "\(context): empty list; a gradient needs at least one value")
            }
            let isScalar = sequence.map { if case .scalar = $0 { true } else { false } }
            if isScalar.allSatisfy({ $0 }) {
                let values = try sequence.enumerated().map { try scalar($1, context: "\(context)[\($0)]") }
                let kinds = Set(
                    values.map { value -> Int in
                        switch value {
                        case .number: 0;
                        case .bool: 1;
                        case .string(let s): Double(s) != nil ? 0 : 2
                        }
                    })
                if kinds.count > 1 {
                    throw self.error(
                        .badGradient,
                        "\(context): a gradient mixes numbers with other values "
                            + "(\(values.map(\.description).joined(separator: ", ")))"
                    )
                }
                return .gradient(values)
            }
            var conditions: [ParameterSetting.Condition] = []
            for (index, element) in sequence.enumerated() {
                guard case .mapping(let map) = element else {
                    throw self.error(
                        .badGradient,
                        "\(context)[\(index)]: a list is either a gradient of numbers or a list of {filter, value} "
                            + "conditionals, not a mix"
                    )
                }
                conditions.append(try condition(map, context: "\(context)[\(index)]"))
            }
            return .conditional(conditions)
        case .alias:
            throw self.error(.syntax, "\(context): YAML aliases are not supported")
        }
    }

    func condition(_ map: Node.Mapping, context: String) throws -> ParameterSetting.Condition {
        var filter: String?
        var value: ParameterSetting?
        for (key, node) in try mapping(map, context: context) {
            switch key {
            case "filter":
                if !isNull(node) {
                    guard let text = scalarString(node) else {
                        throw self.error(.badGradient, "\(context).filter must be a string")
                    }
                    filter = text
                }
            case "value":
                let parsed = try setting(node, context: "\(context).value")
                if case .conditional = parsed {
                    throw self.error(
                        .badGradient, "\(context).value: conditionals do not nest; give a number or a gradient")
                }
                value = parsed
            default:
                throw self.error(
                    .badGradient, "\(context): unknown key '\(key)' in a conditional (expected filter and value)")
            }
        }
        guard let value else {
            throw self.error(.badGradient, "\(context): a conditional needs a 'value'")
        }
        return ParameterSetting.Condition(filter: filter, value: value)
    }

    func scalar(_ node: Node, context: String) throws -> ParameterScalar {
        guard case .scalar(let scalar) = node else {
            throw self.error(.badValue, "\(context): expected a number, boolean or string")
        }
        let tag = Tag.Name(rawValue: node.tag.rawValue)
        if scalar.style == .plain || scalar.style == .any {
            if tag == .bool, let value = node.bool { return .bool(value) }
            if tag == .int || tag == .float, let value = node.float { return .number(value) }
            if tag == .null { throw self.error(.badValue, "\(context): empty value") }
        }
        return .string(scalar.string)
    }

    func scalarString(_ node: Node) -> String? {
        guard case .scalar(let scalar) = node else { return nil }
        return scalar.string
    }

    func isNull(_ node: Node) -> Bool {
        guard case .scalar(let scalar) = node, scalar.style == .plain || scalar.style == .any else { return false }
        return node.tag.rawValue == Tag.Name.null.rawValue
    }

    func dtypeValue(_ node: Node?, key: String) throws -> DType? {
        guard let node, !isNull(node) else { return nil }
        guard let name = scalarString(node), let dtype = parseDTypeName(name) else {
            throw self.error(.badValue, "'\(key)' must be one of bfloat16, float16, float32, float64")
        }
        return dtype
    }

    /// `gate: {max_cosine: X, scope: global|layer|tensor}`, as `metamerge check`'s thresholds.
    func gateBlock(_ node: Node) throws -> GateThresholds {
        guard case .mapping(let map) = node else {
            throw self.error(.badValue, "'gate' must be a mapping, e.g. {max_cosine: 0.2, scope: global}")
        }
        var thresholds = GateThresholds()
        for (key, value) in try mapping(map, context: "gate") {
            guard let text = scalarString(value) else {
                throw self.error(.badValue, "gate.\(key) must be a number or a scope name")
            }
            do {
                try thresholds.set(key.replacingOccurrences(of: "_", with: "-"), text)
            } catch {
                throw self.error(.badValue, "gate: \(error)", cause: error)
            }
        }
        try MergeGate.validate(thresholds, file: file)
        return thresholds
    }
}
