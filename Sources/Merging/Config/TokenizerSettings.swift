/// How the output vocabulary is built and the embedding rows aligned to it (MergeKit 0.1.5's `tokenizer_source`
/// and `tokenizer:` block, `mergekit/tokenizer/config.py`).
///
/// ```yaml
/// tokenizer_source: union          # or base, or a model path
/// # or:
/// tokenizer:
///   source: union                  # base | union | a model path (default union)
///   tokens:                        # per token: where its embedding row comes from
///     "<|im_start|>": {source: ./chat, force: true}
///     "<tool>": {source: {kind: model_token, model: ./chat, token: "<|im_end|>"}}
///     "<empty>": {source: {kind: zero}}
///   pad_to_multiple_of: 64
/// ```
public struct TokenizerSettings: Sendable, Hashable {
    public enum Source: Sendable, Hashable {
        case base
        case union
        case model(String)
    }

    /// Where a token's embedding row comes from when a `tokens:` entry says so.
    public enum Embedding: Sendable, Hashable {
        /// That model's row for the same token.
        case model(String)
        /// Zeros.
        case zero
        /// That model's row for another token (`token`) or row index (`tokenID`).
        case modelToken(model: String, token: String?, tokenID: Int?)

        var model: String? {
            switch self {
            case .model(let model), .modelToken(let model, _, _): model
            case .zero: nil
            }
        }
    }

    public struct Token: Sendable, Hashable {
        public let content: String
        public let source: Embedding?
        /// Use `source` even for models that have the token.
        public let force: Bool
    }

    public let source: Source
    /// The `tokens:` entries, in config order.
    public let tokens: [Token]
    public let padToMultipleOf: Int?
}
