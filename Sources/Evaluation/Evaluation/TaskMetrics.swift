/// What `eval` measures on one task file at one weight point (teacher forcing: the logits at position i of
/// prompt + completion predict token i + 1; the rows read are the last prompt position and every completion
/// position but the last).
///
/// - ``exactMatch``: items whose **every** completion token is the argmax of its row — greedy decoding reproduces
///   the completion;
/// - ``tokenAccuracy``: ``correctTokens`` / ``completionTokens`` over the whole file (micro average);
/// - ``meanNLL``: the mean over items of each item's mean per-token negative log-likelihood (natural log),
///   −log softmax(z)[gold] = logsumexp(z) − z[gold], computed in Float64 from the Float32 logits.
///
/// The argmax is the **first** maximal index (`torch.argmax`'s rule on ties). A row with a NaN logit has an
/// undefined NLL (NaN, which propagates into ``meanNLL``) and is never counted correct.
public struct TaskMetrics: Sendable, Equatable {
    public var items: Int { itemNLL.count }
    public let completionTokens: Int
    public let itemNLL: [Double]
    public let itemExact: [Bool]
    public let itemCorrectTokens: [Int]

    public init(itemNLL: [Double], itemExact: [Bool], itemCorrectTokens: [Int], completionTokens: Int) {
        self.itemNLL = itemNLL
        self.itemExact = itemExact
        self.itemCorrectTokens = itemCorrectTokens
        self.completionTokens = completionTokens
    }

    public var exactMatch: Int { itemExact.filter { $0 }.count }
    public var correctTokens: Int { itemCorrectTokens.reduce(0, +) }
    public var tokenAccuracy: Double { Double(correctTokens) / Double(max(completionTokens, 1)) }
    /// Exact match as a fraction of the items.
    public var exactMatchRate: Double { Double(exactMatch) / Double(max(items, 1)) }
    public var meanNLL: Double { itemNLL.reduce(0, +) / Double(max(items, 1)) }
}
