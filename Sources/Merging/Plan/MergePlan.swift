import Checkpoints
import Foundation
import SafeTensors
import Statistics

/// Everything a merge will do, decided before any weight is read: the inputs, and for every output tensor its
/// shape, dtype, layer position and resolved parameters. MetaGPT's λ and the gate's verdict are added once the
/// statistics are known.
public struct MergePlan: Sendable {
    /// One input model.
    public struct Input: Sendable {
        /// The reference as written in the config.
        public let reference: String
        public let url: URL
        public let isBase: Bool
        /// Whether MetaMerge appended it (a `base_model` not listed under `models:`, as MergeKit does).
        public let appended: Bool
        public let checkpoint: Checkpoint
        let parameters: [String: ParameterSetting]
        /// The LoRA adapter applied to ``checkpoint`` as its tensors are read (`BASE+ADAPTER`, or a bare adapter
        /// directory on `base_model`).
        public var adapter: LoRAAdapter? = nil
    }

    /// One output tensor.
    public struct Tensor: Sendable {
        public let name: String
        /// The output shape (the common rows for embeddings/lm_head of different vocabulary sizes).
        public let shape: [Int]
        public let dtype: DType
        /// Each input's stored shape, in input order.
        public let inputShapes: [[Int]]
        /// The layer position t ∈ [0, 1] gradients are evaluated at (0 outside layers).
        public let layerPosition: Double
        /// Stored in a non-floating dtype and identical in every input: copied byte for byte.
        public let isCopied: Bool
        /// Shared parameters (one value for the tensor).
        public let shared: [String: ParameterValue]
        /// Per-input parameters, in input order (empty for inputs a parameter does not apply to).
        public let perInput: [[String: ParameterValue]]
        /// MetaGPT's coefficients for this tensor, per task model, once known.
        public internal(set) var lambdas: [Double]?
        let sources: [TensorSource]

        public var elementCount: Int { shape.reduce(1, *) }
        public var isTrimmed: Bool { inputShapes.contains { $0 != shape } }
    }

    public let configuration: MergeConfiguration
    public let method: MergeMethod
    public let inputs: [Input]
    /// Index of the base in ``inputs``, when there is one.
    public let baseIndex: Int?
    public internal(set) var tensors: [Tensor]
    /// Where `config.json` comes from (the base, else the first model).
    public let configSource: URL
    /// Whose tokenizer files are copied.
    public let tokenizerSource: URL
    /// The output's layer count (for `slices:`, the sum of the slices' lengths).
    public let layerCount: Int
    /// For `slices:`, where each output layer comes from; empty otherwise.
    public internal(set) var layerMap: [LayerMapEntry] = []
    /// The output vocabulary and the aligned embeddings' scratch files, when a tokenizer rule is given.
    let vocabulary: VocabularyAlignment?
    /// The output's vocabulary rows (`vocab_size`), when a tokenizer rule is given.
    public var vocabularySize: Int? { vocabulary?.rowCount }
    /// Things a user should know: vocabulary trimming, ignored parameters, a config adjusted.
    public internal(set) var notes: [String]
    /// The seed stochastic methods draw from.
    public let seed: UInt64
    /// Whether ``seed`` was given (`--random-seed`) or drawn at random.
    public let seedGiven: Bool
    /// MetaGPT's λ over the whole model, per task model, when global.
    public internal(set) var globalLambdas: [Double]?
    /// ‖τₜ‖² (or of the sparsified τₜ) behind ``globalLambdas``.
    public internal(set) var lambdaNorms: [Double]?
    /// Where the λ came from, for the model card.
    public internal(set) var lambdaSource: String?
    public internal(set) var gate: GateOutcome?
    let files: WeightFiles

    /// The task models (inputs other than the base), in input order.
    public var taskIndices: [Int] { inputs.indices.filter { $0 != baseIndex } }
    public var taskNames: [String] { taskIndices.map { inputs[$0].reference } }

    /// The shared parameters of the first merged tensor (MetaGPT options are uniform), else the defaults.
    var sharedParameters: MethodParameters {
        MethodParameters(method.definition, shared: tensors.first { !$0.isCopied }?.shared ?? [:])
    }
}
