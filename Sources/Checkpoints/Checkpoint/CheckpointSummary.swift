import Foundation
import SafeTensors

/// What a checkpoint holds, for `metamerge inspect`: architecture, sizes, bytes by dtype, shards, tied weights.
public struct CheckpointSummary: Sendable, Codable {
    public struct Tensor: Sendable, Codable {
        public let name: String
        public let dtype: String
        public let shape: [Int]
        public let bytes: Int
        public let file: String
    }

    public struct Shard: Sendable, Codable {
        public let file: String
        public let tensors: Int
        public let bytes: Int
    }

    public let directory: String
    public let architectures: [String]
    /// When config.json names no `architectures`: the class transformers' `AutoModelForCausalLM` builds for its
    /// `model_type`.
    public let inferredArchitecture: String?
    public let modelType: String?
    public let layers: Int?
    public let hiddenSize: Int?
    public let vocabSize: Int?
    public let parameters: Int
    public let bytesByDtype: [String: Int]
    public let shards: [Shard]
    public let tiedEmbeddings: Bool
    public let notes: [String]
    /// What validation found wrong (see ``Checkpoint/Validation/collect``); empty for a sound checkpoint.
    public let problems: [String]
    public let tensors: [Tensor]

    public init(_ checkpoint: Checkpoint) {
        directory = checkpoint.directory.path
        architectures = checkpoint.config.architectures
        inferredArchitecture = architectures.isEmpty ? checkpoint.config.architecture : nil
        modelType = checkpoint.config.modelType
        layers = checkpoint.config.size("num_hidden_layers")?.value
        hiddenSize = checkpoint.config.size("hidden_size")?.value
        vocabSize = checkpoint.config.size("vocab_size")?.value
        parameters = checkpoint.parameterCount
        bytesByDtype = Dictionary(uniqueKeysWithValues: checkpoint.bytesByDtype.map { ($0.key.rawValue, $0.value) })
        shards = checkpoint.files.map { file in
            Shard(
                file: file.url.lastPathComponent, tensors: file.tensors.count,
                bytes: file.tensors.reduce(0) { $0 + $1.byteCount })
        }
        tiedEmbeddings = checkpoint.lmHeadIsTied
        notes = checkpoint.notes
        problems = checkpoint.problems.map(\.description)
        tensors = checkpoint.tensorNames.compactMap { name in
            guard let info = checkpoint.info(name), let file = checkpoint.file(of: name) else { return nil }
            return Tensor(
                name: name, dtype: info.dtype.rawValue, shape: info.shape, bytes: info.byteCount,
                file: file.url.lastPathComponent)
        }
    }
}
