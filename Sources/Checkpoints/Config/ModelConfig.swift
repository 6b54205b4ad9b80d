import Foundation
import JSONCore
import SafeTensors

/// A tolerant, typed view of a Hugging Face `config.json`.
///
/// Every key is kept in ``json``; the typed properties read the keys Llama-family configs use. A key that is
/// absent reads as `nil`. Nested `text_config` blocks (multimodal wrappers) are not unwrapped.
public struct ModelConfig: Sendable {
    /// Every key of the file, known or not.
    public let json: [String: JSONValue]

    public init(json: [String: JSONValue]) {
        self.json = json
    }

    /// Reads and decodes `config.json`; throws ``CheckpointError`` naming the file when it is not a JSON object.
    public init(contentsOf url: URL) throws {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw CheckpointError(
                .unreadableFile, url: url, "cannot read the file: \(FileErrorReason.reason(error, url: url))",
                cause: error)
        }
        try self.init(data: data, url: url)
    }

    /// Decodes the bytes `data` of the `config.json` at `url` (named in messages) as ``init(contentsOf:)`` does: the
    /// one strict reading of a config.json (``JSONNode``; not UTF-8, not JSON, not an object, a key given twice,
    /// or a number beyond `Double` are refused).
    package init(data: Data, url: URL) throws {
        let node: JSONNode
        do {
            node = try Self.parse([UInt8](data))
        } catch {
            throw CheckpointError(
                .badConfig, url: url, "is not valid JSON (\(error.reason)); expected a JSON object", cause: error)
        }
        guard case .object(let members) = node else {
            throw CheckpointError(.badConfig, url: url, "is not a JSON object")
        }
        if let (key, path) = Self.duplicateKey(in: node, at: "") {
            throw CheckpointError(
                .badConfig, url: url,
                "key '\(key)' appears twice\(path.isEmpty ? "" : " in '\(path)'"); JSON readers disagree on which "
                    + "one counts (Python's json, and so transformers, takes the last): keep one")
        }
        guard let object = JSONValue.object(members) else {
            throw CheckpointError(
                .badConfig, url: url, "is not valid JSON (a value JSON readers refuse); expected a JSON object")
        }
        self.json = object
    }

    /// Why the bytes of a model directory's JSON file (config.json, an index) are not JSON that readers take: not
    /// UTF-8 (Python's `json` and Foundation refuse it), or not JSON (``JSONSyntaxError``).
    package struct ParseFailure: Error, Sendable {
        package let cause: JSONSyntaxError?
        /// What the message says in parentheses.
        package var reason: String { cause?.description ?? "a value JSON readers refuse" }
    }

    /// The strict parse of `bytes` (``JSONNode``, nesting at most 128 levels), refusing bytes that are not UTF-8.
    package static func parse(_ bytes: [UInt8]) throws(ParseFailure) -> JSONNode {
        let invalid = bytes.withUnsafeBytes { UTF8Validation.firstInvalidOffset($0) }
        guard invalid == nil else { throw ParseFailure(cause: nil) }
        do {
            return try JSONNode.parse(bytes)
        } catch {
            throw ParseFailure(cause: error)
        }
    }

    /// The first key that an object of `node` (at any depth) holds twice, with the path of that object.
    private static func duplicateKey(in node: JSONNode, at path: String) -> (String, String)? {
        switch node {
        case .object(let members):
            var seen = Set<String>()
            for member in members {
                if !seen.insert(member.key).inserted { return (member.key, path) }
                let inner = path.isEmpty ? member.key : path + "." + member.key
                if let found = duplicateKey(in: member.value, at: inner) { return found }
            }
        case .array(let elements):
            for element in elements {
                if let found = duplicateKey(in: element, at: path + "[]") { return found }
            }
        default: break
        }
        return nil
    }

    public func int(_ key: String) -> Int? { json[key]?.intValue }
    public func double(_ key: String) -> Double? { json[key]?.doubleValue }
    public func string(_ key: String) -> String? { json[key]?.stringValue }
    public func bool(_ key: String) -> Bool? { json[key]?.boolValue }

    public var architectures: [String] { json["architectures"]?.arrayValue?.compactMap(\.stringValue) ?? [] }
    public var modelType: String? { string("model_type") }

    /// The model class: the first of `architectures`, else the class transformers' `AutoModelForCausalLM` builds
    /// for `model_type` (``CausalLMClasses``), else `nil`.
    public var architecture: String? {
        architectures.first ?? modelType.flatMap { CausalLMClasses.byModelType[$0] }
    }
    public var hiddenSize: Int? { int("hidden_size") }
    public var intermediateSize: Int? { int("intermediate_size") }
    public var numHiddenLayers: Int? { int("num_hidden_layers") }
    public var numAttentionHeads: Int? { int("num_attention_heads") }
    /// `num_key_value_heads`, defaulting to the attention head count as transformers does.
    public var numKeyValueHeads: Int? { int("num_key_value_heads") ?? numAttentionHeads }
    public var headDim: Int? { int("head_dim") }
    public var vocabSize: Int? { int("vocab_size") }
    public var maxPositionEmbeddings: Int? { int("max_position_embeddings") }
    public var rmsNormEps: Double? { double("rms_norm_eps") }
    public var attentionBias: Bool? { bool("attention_bias") }

    /// `rope_theta`, or `rope_parameters.rope_theta` (transformers ≥ 5 writes the latter).
    public var ropeTheta: Double? {
        double("rope_theta") ?? json["rope_parameters"]?.objectValue?["rope_theta"]?.doubleValue
    }

    /// `tie_word_embeddings` as transformers reads it: the key, else the `model_type`'s default
    /// (``wordEmbeddingsTied``), else `false` (see ``Checkpoint/lmHeadIsTied`` for a checkpoint's head).
    public var tieWordEmbeddings: Bool { wordEmbeddingsTied ?? false }
}
