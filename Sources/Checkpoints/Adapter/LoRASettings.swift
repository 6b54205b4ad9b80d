import Foundation

/// The keys of a PEFT `adapter_config.json` that decide a LoRA update, read strictly.
///
/// Read: `peft_type` (`LORA` only), `r`, `lora_alpha`, `use_rslora`, `target_modules` (a list, matched as PEFT's
/// `check_target_module_exists`: the module name equals an entry or ends with `.entry`; or a string, matched with
/// `re.fullmatch`; `all-linear` matches every module), `rank_pattern`, `alpha_pattern` (``LoRAPattern``),
/// `fan_in_fan_out`, `base_model_name_or_path`. Refused, naming the key: `use_dora: true`, non-empty
/// `modules_to_save`, `bias` other than `none`, non-null `layers_to_transform` / `layers_pattern`.
struct LoRASettings: Sendable {
    let rank: Int
    let alpha: Double
    let useRSLoRA: Bool
    let fanInFanOut: Bool
    let baseModelNameOrPath: String?
    let targetList: [String]?
    let targetRegex: NSRegularExpression?
    let rankPattern: [(String, Int)]
    let alphaPattern: [(String, Double)]

    init(json: [String: JSONValue], url: URL) throws {
        func fail(_ key: String, _ message: String) -> CheckpointError {
            CheckpointError(.badConfig, url: url, "key '\(key)': \(message)")
        }
        func isNull(_ key: String) -> Bool {
            if case .null = json[key] ?? .null { return true }
            return false
        }
        guard case .string(let type)? = json["peft_type"] else {
            throw fail("peft_type", "missing or not a string; expected \"LORA\"")
        }
        guard type == "LORA" else {
            throw fail("peft_type", "is \"\(type)\"; only LoRA adapters (\"LORA\") are supported")
        }
        if case .bool(true)? = json["use_dora"] {
            throw fail("use_dora", "is true; DoRA adapters are not supported (merge them with PEFT first)")
        }
        if !isNull("use_dora"), json["use_dora"] != .bool(false) { throw fail("use_dora", "expected true or false") }
        if let saved = json["modules_to_save"], saved != .null, saved != .array([]) {
            throw fail(
                "modules_to_save", "is not empty; adapters that save whole modules are not supported (merge them "
                    + "with PEFT first)")
        }
        if let bias = json["bias"], bias != .null, bias != .string("none") {
            let shown = bias.stringValue.map { "\"\($0)\"" } ?? "not a string"
            throw fail("bias", "is \(shown); only \"none\" is supported (trained biases are not applied)")
        }
        for key in ["layers_to_transform", "layers_pattern"] where !isNull(key) && json[key] != .array([]) {
            throw fail(key, "is set; adapters restricted to some layers are not supported")
        }
        guard case .number(let r)? = json["r"], r >= 1, r == r.rounded(), r <= 1_048_576 else {
            throw fail("r", "missing or not a positive integer")
        }
        guard case .number(let alpha)? = json["lora_alpha"], alpha.isFinite else {
            throw fail("lora_alpha", "missing or not a number")
        }
        func flag(_ key: String) throws -> Bool {
            switch json[key] {
            case nil, .null?: return false
            case .bool(let value)?: return value
            default: throw fail(key, "expected true or false")
            }
        }
        rank = Int(r)
        self.alpha = alpha
        useRSLoRA = try flag("use_rslora")
        fanInFanOut = try flag("fan_in_fan_out")
        switch json["base_model_name_or_path"] {
        case .string(let path)?: baseModelNameOrPath = path
        case nil, .null?: baseModelNameOrPath = nil
        default: throw fail("base_model_name_or_path", "expected a string")
        }
        switch json["target_modules"] {
        case .string(let pattern)?:
            targetList = nil
            if pattern == "all-linear" {
                targetRegex = nil
            } else {
                do {
                    targetRegex = try NSRegularExpression(pattern: "^(?:\(pattern))$")
                } catch {
                    throw fail("target_modules", "'\(pattern)' is not a regular expression")
                }
            }
        case .array(let items)?:
            targetRegex = nil
            targetList = try items.map {
                guard case .string(let name) = $0 else { throw fail("target_modules", "expected a list of strings") }
                return name
            }
        default:
            throw fail("target_modules", "missing; expected a list of module names or a regular expression")
        }
        rankPattern = try Self.pattern(json["rank_pattern"], key: "rank_pattern", fail: fail).map { key, value in
            guard value >= 1, value == value.rounded(), value <= 1_048_576 else {
                throw fail("rank_pattern", "'\(key)' is not a positive integer")
            }
            return (key, Int(value))
        }
        alphaPattern = try Self.pattern(json["alpha_pattern"], key: "alpha_pattern", fail: fail)
    }

    /// A `{pattern: number}` object as (pattern, number) pairs in the file's key order is not kept by the JSON
    /// reader; PEFT takes the first matching key in dict order, so keys are sorted for a stable choice and an
    /// ambiguous match (two keys matching one module) is refused in ``rankAndAlpha(_:)``.
    static func pattern(
        _ value: JSONValue?, key: String, fail: (String, String) -> CheckpointError
    ) throws -> [(String, Double)] {
        switch value {
        case nil, .null?: return []
        case .object(let object)?:
            return try object.keys.sorted().map { name in
                guard case .number(let number) = object[name]!, number.isFinite else {
                    throw fail(key, "'\(name)' is not a number")
                }
                return (name, number)
            }
        default: throw fail(key, "expected an object of module patterns to numbers")
        }
    }

    /// Whether PEFT would put a LoRA layer on module `module` (its full name, e.g. `model.layers.0.self_attn.q_proj`).
    func targets(_ module: String) -> Bool {
        if let targetRegex {
            let range = NSRange(module.startIndex..., in: module)
            return targetRegex.firstMatch(in: module, range: range) != nil
        }
        guard let targetList else { return true }
        return targetList.contains { module == $0 || module.hasSuffix("." + $0) }
    }

    /// r and `lora_alpha` for `module`: from the first `rank_pattern` / `alpha_pattern` key that matches it as
    /// PEFT's `get_pattern_key` matches (``LoRAPattern/matches(_:_:)``), else the config's `r` / `lora_alpha`.
    ///
    /// - Throws: ``CheckpointError`` when two keys of one pattern match `module` with different values (PEFT takes
    ///   the first in the file's key order, which the JSON reader does not keep).
    func rankAndAlpha(_ module: String, url: URL) throws -> (Int, Double) {
        func pick<T: Equatable>(_ pattern: [(String, T)], _ key: String, _ fallback: T) throws -> T {
            let found = pattern.filter { LoRAPattern.matches($0.0, module) }
            if let first = found.first, let other = found.first(where: { $0.1 != first.1 }) {
                throw CheckpointError(
                    .badConfig, url: url,
                    "key '\(key)': '\(first.0)' and '\(other.0)' both match module '\(module)' with different "
                        + "values; expected one match")
            }
            return found.first?.1 ?? fallback
        }
        return (try pick(rankPattern, "rank_pattern", rank), try pick(alphaPattern, "alpha_pattern", alpha))
    }
}
