import Checkpoints
import Foundation
import SafeTensors
import Statistics

/// A merge configuration: MergeKit's YAML schema (`mergekit/config.py`, `MergeConfiguration`) restricted to what
/// MetaMerge implements, extended with `merge_method: metagpt…` and a `gate:` block.
///
/// ```yaml
/// models:
///   - model: ./add                 # relative to this file's folder, else to the working directory
///     parameters: {weight: 0.5, density: [0.2, 0.8]}
///   - model: ./rev
///     parameters:
///       weight: [{filter: mlp, value: 0.7}, {value: 0.3}]
/// base_model: ./base
/// merge_method: ties
/// parameters: {normalize: true}
/// dtype: float32                   # the dtype inputs are rounded to when loaded
/// out_dtype: bfloat16              # the dtype written (else `dtype`, else the inputs' promoted dtype)
/// tokenizer_source: base           # or a model reference: whose tokenizer files are copied
/// gate: {max_cosine: 0.2, scope: global}
/// ```
///
/// Keys MetaMerge does not implement — `modules`, `chat_template` — are refused by name, as is any key no MergeKit
/// config has, and LoRA references `model+lora` when the models are resolved; nothing is silently ignored. A model
/// reference is an existing path first, else a hub id `org/name[@revision]` read from the local Hugging Face cache.
public struct MergeConfiguration: Sendable {
    /// One entry of `models:`.
    public struct ModelEntry: Sendable, Hashable {
        /// The reference as written.
        public let reference: String
        /// Per-model `parameters:` (highest precedence).
        public let parameters: [String: ParameterSetting]
        public init(reference: String, parameters: [String: ParameterSetting] = [:]) {
            self.reference = reference
            self.parameters = parameters
        }
    }

    /// One source of an output slice: `{model, layer_range: [a, b], parameters}` — layers a..<b of `model`.
    public struct SliceSource: Sendable, Hashable {
        public let reference: String
        public let layers: Range<Int>
        /// Per-source `parameters:` (highest precedence, for this slice's tensors).
        public let parameters: [String: ParameterSetting]
    }

    /// One entry of `slices:`: its sources (one for passthrough, else every model, with ranges of equal length) and
    /// its `parameters:` (between the sources' and the global ones in precedence).
    public struct OutputSlice: Sendable, Hashable {
        public let sources: [SliceSource]
        public let parameters: [String: ParameterSetting]
        /// The number of output layers: the sources' common range length.
        public var length: Int { sources.first?.layers.count ?? 0 }
    }

    /// The config file, when read from one.
    public let file: URL?
    /// The folder relative model paths are resolved against first.
    public let directory: URL
    /// The YAML text as given (copied to the output as `mergekit_config.yml`).
    public let text: String
    public let method: MergeMethod
    public let models: [ModelEntry]
    public let baseModel: String?
    /// Global `parameters:` (lowest precedence).
    public let parameters: [String: ParameterSetting]
    /// `dtype`: inputs are rounded to it on load.
    public let dtype: DType?
    /// `out_dtype`: the dtype written.
    public let outDtype: DType?
    /// `tokenizer_source`: `base` or a model reference whose tokenizer files are copied.
    public let tokenizerSource: String?
    /// A `gate:` block.
    public let gate: GateThresholds?
    /// `slices:` (MergeKit's layer slices), when given instead of `models:`; ``models`` then lists each model the
    /// slices name once, in order of appearance, without parameters.
    public let slices: [OutputSlice]?
    /// `tokenizer_source` or the `tokenizer:` block: the output vocabulary and the embedding rows aligned to it.
    public let tokenizer: TokenizerSettings?

    /// Reads and validates the config at `url`; relative model paths resolve against its folder first.
    public static func load(contentsOf url: URL) throws -> MergeConfiguration {
        if let reason = FileErrorReason.notRegularFile(url) {
            throw MergeConfigError(.syntax, file: url, "cannot read the config: \(reason)")
        }
        if let size = (try? FileManager.default.attributesOfItem(atPath: url.path))?[.size] as? Int,
            size > ConfigParser.maxConfigBytes
        {
            throw MergeConfigError(
                .syntax, file: url,
                "the config is \(size) bytes; at most \(ConfigParser.maxConfigBytes) (1 MiB) are read — a MergeKit "
                    + "config is a few kB")
        }
        let text: String
        do {
            text = try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw MergeConfigError(
                .syntax, file: url, "cannot read the config: \(FileErrorReason.reason(error, url: url))", cause: error)
        }
        return try MergeConfiguration(yaml: text, directory: url.deletingLastPathComponent(), file: url)
    }

    /// Parses `yaml`; relative model paths resolve against `directory` first, then the working directory.
    public init(yaml: String, directory: URL, file: URL? = nil) throws {
        let parsed = try ConfigParser(file: file).parse(yaml)
        self.file = file
        self.directory = directory
        self.text = yaml
        self.method = parsed.method
        self.models = parsed.models
        self.baseModel = parsed.baseModel
        self.parameters = parsed.parameters
        self.dtype = parsed.dtype
        self.outDtype = parsed.outDtype
        self.tokenizerSource = parsed.tokenizerSource
        self.gate = parsed.gate
        self.slices = parsed.slices
        self.tokenizer = parsed.tokenizer
    }

    init(
        file: URL?, directory: URL, text: String, method: MergeMethod, models: [ModelEntry], baseModel: String?,
        parameters: [String: ParameterSetting], dtype: DType?, outDtype: DType?, tokenizerSource: String?,
        gate: GateThresholds?, slices: [OutputSlice]? = nil, tokenizer: TokenizerSettings? = nil
    ) {
        self.slices = slices
        self.tokenizer = tokenizer
        self.file = file
        self.directory = directory
        self.text = text
        self.method = method
        self.models = models
        self.baseModel = baseModel
        self.parameters = parameters
        self.dtype = dtype
        self.outDtype = outDtype
        self.tokenizerSource = tokenizerSource
        self.gate = gate
    }

    /// The model directory a reference names.
    ///
    /// An absolute path (or `~/…`) is taken as is. A relative path is looked up in the config file's folder first
    /// and then in the working directory (MergeKit resolves only against the working directory; the config-relative
    /// lookup lets a config travel with its models). A reference that is no existing path is read as MergeKit reads
    /// it: `BASE+ADAPTER` (refused), or a hub id `ORG/NAME[@REVISION]` found in the local Hugging Face cache
    /// (``ModelReference``).
    ///
    /// - Throws: ``MergeConfigError`` (`badModel`) naming the places looked in and the readings tried, with the
    ///   ``CheckpointError`` of ``ModelReference/resolve(_:searchingIn:environment:)`` as its cause.
    public func resolveModel(_ reference: String) throws -> URL {
        try resolveReference(reference).url
    }

    /// The model a reference names, as ``resolveModel(_:)`` finds it, with its short name (the directory's last
    /// path component, or the hub id's repo name); with `allowingAdapter`, `BASE+ADAPTER` resolves to the base and
    /// its LoRA adapter (``ModelReference/adapter``) instead of being refused.
    public func resolveReference(_ reference: String, allowingAdapter: Bool = false) throws -> ModelReference {
        do {
            return try ModelReference.resolve(
                reference,
                searchingIn: [directory, URL(fileURLWithPath: FileManager.default.currentDirectoryPath)],
                allowingAdapter: allowingAdapter)
        } catch let error as CheckpointError {
            throw MergeConfigError(.badModel, file: file, "model '\(reference)': \(error.description)", cause: error)
        }
    }
}

/// The dtype names MergeKit's `dtype_from_name` accepts (optionally prefixed `torch.`).
func parseDTypeName(_ name: String) -> DType? {
    let bare = name.hasPrefix("torch.") ? String(name.dropFirst(6)) : name
    switch bare {
    case "bfloat16": return .bf16
    case "float16": return .f16
    case "float32": return .f32
    case "float64": return .f64
    default: return nil
    }
}

/// The MergeKit name of a floating dtype (`bfloat16`, …).
func dtypeName(_ dtype: DType) -> String {
    switch dtype {
    case .bf16: "bfloat16"
    case .f16: "float16"
    case .f32: "float32"
    case .f64: "float64"
    default: dtype.rawValue
    }
}
