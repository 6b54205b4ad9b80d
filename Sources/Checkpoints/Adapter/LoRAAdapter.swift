import Foundation
import SafeTensors

/// A PEFT LoRA adapter directory: `adapter_config.json` plus `adapter_model.safetensors`.
///
/// For each adapted linear module `M` (base tensor `M.weight`, shape [out, in]) the adapter stores
/// `base_model.model.M.lora_A[.NAME].weight` (A, [r, in]) and `…lora_B[.NAME].weight` (B, [out, r]); PEFT's
/// `merge_and_unload()` forms W = W0 + s·B·A (transposed when `fan_in_fan_out`), with s = `lora_alpha` / r, or
/// `lora_alpha` / √r with `use_rslora`; r and `lora_alpha` per module from `rank_pattern` / `alpha_pattern` when a
/// key matches (``LoRAPattern``).
///
/// Everything that would change that arithmetic and is not implemented is refused, naming the file and the key:
/// `peft_type` other than `LORA`, `use_dora: true`, non-empty `modules_to_save`, `bias` other than `none`,
/// `layers_to_transform` / `layers_pattern`, embedding LoRA (`lora_embedding_A/B`), DoRA magnitudes
/// (`lora_magnitude_vector`), and any tensor that is not a LoRA factor. Opening reads the config and the safetensors
/// header only; factors are read one module at a time (``factors(for:)``).
public final class LoRAAdapter: Sendable {
    /// The adapter directory.
    public let directory: URL
    /// `adapter_model.safetensors`.
    public let file: SafeTensorsFile
    /// `base_model_name_or_path`, when the config names one.
    public let baseModelNameOrPath: String?
    /// Whether the update is stored transposed (`fan_in_fan_out`, GPT-2 `Conv1D` layers): W = W0 + s·(B·A)ᵀ.
    public let fanInFanOut: Bool
    private let modules: [String: Module]

    /// One adapted module: its factor tensors' names and its scale.
    struct Module: Sendable {
        let aName: String
        let bName: String
        let rank: Int
        let scale: Double
    }

    /// The names of the base tensors the adapter changes, sorted.
    public var adaptedTensorNames: [String] { modules.keys.sorted() }

    /// Whether `directory` looks like an adapter directory (it holds `adapter_config.json`).
    public static func isAdapterDirectory(_ directory: URL) -> Bool {
        FileManager.default.fileExists(atPath: directory.appendingPathComponent(configName).path)
    }

    static let configName = "adapter_config.json"
    static let weightsName = "adapter_model.safetensors"

    /// Opens the adapter at `directory`, reading its config and its weights' header.
    ///
    /// - Throws: ``CheckpointError`` naming the file and the key or tensor: a missing or malformed file, a key of
    ///   the wrong type, or anything refused (see the type's documentation).
    public init(directory: URL) throws {
        let configURL = directory.appendingPathComponent(Self.configName)
        guard FileManager.default.fileExists(atPath: configURL.path) else {
            throw CheckpointError(
                .badConfig, url: configURL, "missing: a LoRA adapter directory needs \(Self.configName)")
        }
        let json = try ModelConfig(contentsOf: configURL).json
        let settings = try LoRASettings(json: json, url: configURL)
        let weightsURL = directory.appendingPathComponent(Self.weightsName)
        guard FileManager.default.fileExists(atPath: weightsURL.path) else {
            throw CheckpointError(
                .noWeights, url: weightsURL, "missing: a LoRA adapter directory needs \(Self.weightsName)")
        }
        let file = try SafeTensorsFile(url: weightsURL)
        var pairs: [String: (a: String?, b: String?)] = [:]
        for info in file.tensors {
            guard let (module, isA) = Self.parseFactorName(info.name, url: weightsURL) else {
                if info.name.hasSuffix(".base_layer.weight") {
                    throw CheckpointError(
                        .badConfig, url: weightsURL, tensor: info.name,
                        "is a copy of the module's base weight, which PEFT saves when LoRA targets the output "
                            + "projection or the embeddings (save_embedding_layers); not supported: on a base whose "
                            + "lm_head is tied to its embedding PEFT gives no one model (running the adapter changes "
                            + "the output only, merge_and_unload() the shared tensor, embedding included)")
                }
                throw CheckpointError(
                    .badConfig, url: weightsURL, tensor: info.name,
                    "is not a LoRA factor (expected base_model.model.MODULE.lora_A[.NAME].weight or lora_B); "
                        + "embedding LoRA, DoRA magnitudes and saved modules are not supported")
            }
            guard info.dtype.isFloatingPoint else {
                throw CheckpointError(
                    .unsupportedDtype, url: weightsURL, tensor: info.name,
                    "is stored as \(info.dtype.rawValue); expected a floating dtype (F32, F16, BF16, F64)")
            }
            var pair = pairs[module] ?? (nil, nil)
            if (isA ? pair.a : pair.b) != nil {
                throw CheckpointError(
                    .duplicateTensor, url: weightsURL, tensor: info.name,
                    "a second lora_\(isA ? "A" : "B") for module '\(module)' (several adapter names in one file); "
                        + "expected one adapter")
            }
            if isA { pair.a = info.name } else { pair.b = info.name }
            pairs[module] = pair
        }
        var modules: [String: Module] = [:]
        for (module, pair) in pairs {
            guard let aName = pair.a, let bName = pair.b else {
                throw CheckpointError(
                    .missingTensor, url: weightsURL, tensor: pair.a ?? pair.b,
                    "module '\(module)' has lora_\(pair.a == nil ? "B" : "A") but no lora_\(pair.a == nil ? "A" : "B")")
            }
            guard settings.targets(module) else {
                throw CheckpointError(
                    .badConfig, url: weightsURL, tensor: aName,
                    "module '\(module)' is not matched by target_modules in \(Self.configName)")
            }
            let (rank, alpha) = try settings.rankAndAlpha(module, url: configURL)
            let a = file.info(aName)!, b = file.info(bName)!
            guard a.shape.count == 2, b.shape.count == 2, a.shape[0] == rank, b.shape[1] == rank else {
                throw CheckpointError(
                    .shapeMismatch, url: weightsURL, tensor: aName,
                    "module '\(module)': lora_A is \(a.shape), lora_B is \(b.shape); expected [\(rank), in] and "
                        + "[out, \(rank)] (r = \(rank) from \(Self.configName))")
            }
            let scale = settings.useRSLoRA ? alpha / Double(rank).squareRoot() : alpha / Double(rank)
            modules[module + ".weight"] = Module(aName: aName, bName: bName, rank: rank, scale: scale)
        }
        guard !modules.isEmpty else {
            throw CheckpointError(.noWeights, url: weightsURL, "holds no LoRA factor; expected lora_A / lora_B tensors")
        }
        self.directory = directory
        self.file = file
        self.baseModelNameOrPath = settings.baseModelNameOrPath
        self.fanInFanOut = settings.fanInFanOut
        self.modules = modules
    }

    /// The module a factor tensor belongs to and whether it is A: `base_model.model.M.lora_A.weight` or
    /// `base_model.model.M.lora_A.NAME.weight` (PEFT's adapter-name infix).
    static func parseFactorName(_ name: String, url: URL) -> (module: String, isA: Bool)? {
        let prefix = "base_model.model."
        guard name.hasPrefix(prefix), name.hasSuffix(".weight") else { return nil }
        let parts = name.dropFirst(prefix.count).dropLast(".weight".count).split(
            separator: ".", omittingEmptySubsequences: false)
        for (index, part) in parts.enumerated() where part == "lora_A" || part == "lora_B" {
            guard index > 0, index >= parts.count - 2 else { continue }
            return (parts[..<index].joined(separator: "."), part == "lora_A")
        }
        return nil
    }

    /// The factors of base tensor `name` (`M.weight`) and its scale, or nil when the adapter does not change it.
    ///
    /// A is [r, in] and B is [out, r], row-major Float32; the update is `scale`·B·A ([out, in]), transposed when
    /// ``fanInFanOut``.
    public func factors(for name: String) throws -> (a: [Float], b: [Float], rank: Int, scale: Float)? {
        guard let module = modules[name] else { return nil }
        let a = try file.readFloat32(module.aName)
        let b = try file.readFloat32(module.bName)
        return (a, b, module.rank, Float(module.scale))
    }

    /// The rank r of base tensor `name`'s update, or nil when the adapter does not change it.
    package func rank(for name: String) -> Int? {
        modules[name]?.rank
    }

    /// Reads the factors of base tensor `name` as Float32 into `a` (A, [r, in] row-major) and `b` (B, [out, r]), each
    /// exactly the factor's element count (``rank(for:)`` times the update's dimensions); reuses the caller's
    /// buffers where ``factors(for:)`` allocates.
    package func readFactors(
        for name: String, a: UnsafeMutableBufferPointer<Float>, b: UnsafeMutableBufferPointer<Float>
    ) throws {
        guard let module = modules[name] else { return }
        try file.readFloat32(module.aName, into: a)
        try file.readFloat32(module.bName, into: b)
    }

    /// The scale s of base tensor `name`'s update in Float64 (``factors(for:)`` gives it as Float32), or nil when
    /// the adapter does not change it.
    package func exactScale(for name: String) -> Double? {
        modules[name]?.scale
    }

    /// The shape of the update to base tensor `name`: [out, in] (B·A's, transposed when ``fanInFanOut``).
    public func updateShape(for name: String) -> [Int]? {
        guard let module = modules[name], let a = file.info(module.aName), let b = file.info(module.bName) else {
            return nil
        }
        return fanInFanOut ? [a.shape[1], b.shape[0]] : [b.shape[0], a.shape[1]]
    }

    /// Checks that every adapted tensor exists in the base with the update's shape.
    ///
    /// - Throws: ``CheckpointError`` (`shapeMismatch` / `missingTensor`) naming the adapter file, the module, the A
    ///   and B shapes and the base shape.
    public func check(against shapeOf: (String) -> [Int]?, base: URL) throws {
        for name in adaptedTensorNames {
            let module = modules[name]!
            let a = file.info(module.aName)!.shape, b = file.info(module.bName)!.shape
            guard let shape = shapeOf(name) else {
                throw CheckpointError(
                    .missingTensor, url: file.url, tensor: module.aName,
                    "module '\(name.dropLast(7))' (lora_A \(a), lora_B \(b)) has no tensor \(name) in the base "
                        + "\(base.path)")
            }
            guard shape == updateShape(for: name) else {
                throw CheckpointError(
                    .shapeMismatch, url: file.url, tensor: module.aName,
                    "module '\(name.dropLast(7))': lora_A \(a) and lora_B \(b) give an update of shape "
                        + "\(updateShape(for: name)!), but the base's \(name) is \(shape)")
            }
        }
    }
}

extension LoRAAdapter {
    /// Adds `scale`·B·A (transposed when `transposed`, i.e. ``fanInFanOut``) to elements `elements` (flat, row-major)
    /// of a [rows, columns] tensor held in `values` as Float32, as PEFT's `merge_and_unload()` forms it on CPU: each
    /// entry of B·A summed in Float32 over the rank, multiplied by s in Float32, added to the value.
    package static func addUpdate(
        a: [Float], b: [Float], rank: Int, scale: Float, transposed: Bool, rows: Int, columns: Int,
        elements: Range<Int>, to values: UnsafeMutablePointer<Float>
    ) {
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                for (offset, element) in elements.enumerated() {
                    let row = element / columns, column = element % columns
                    // out × in: δ[row, column] = Σ_k B[row, k]·A[k, column]; transposed (in × out): the same with
                    // row and column exchanged.
                    let (i, j, inCount) = transposed ? (column, row, rows) : (row, column, columns)
                    var sum: Float = 0
                    for k in 0..<rank { sum += b[i * rank + k] * a[k * inCount + j] }
                    values[offset] += sum * scale
                }
            }
        }
    }
}

extension SafeTensorsFile {
    /// Reads the whole of tensor `name` as Float32.
    func readFloat32(_ name: String) throws -> [Float] {
        let count = info(name)?.elementCount ?? 0
        return try [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            try readFloat32(name, into: UnsafeMutableBufferPointer(rebasing: buffer[0..<count]))
            initialized = count
        }
    }
}
