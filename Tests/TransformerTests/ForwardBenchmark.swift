import Checkpoints
import Foundation
import Testing
import Transformer

/// Throughput of the forward pass on a real-sized model; run by `benchmarks/forward_vs_torch.sh`.
///
/// Enabled only when `METAMERGE_BENCH_MODEL` names a model directory (build with `-c release`). Optional:
/// `METAMERGE_BENCH_TOKENS` (default 64), `METAMERGE_BENCH_RUNS` (default 10), `METAMERGE_BENCH_TASK` (a task
/// model directory: also time the θ0 + 0.5·τ combined pass), `METAMERGE_BENCH_BATCH` (default 8) prompts of
/// `METAMERGE_BENCH_BATCH_TOKENS` (default 16) tokens through one batched pass (0: skip). Prints one JSON line per
/// measurement.
@Suite("ForwardBenchmark")
struct ForwardBenchmark {
    static let environment = ProcessInfo.processInfo.environment

    @Test(
        "tokens per second on one prompt",
        .enabled(if: environment["METAMERGE_BENCH_MODEL"] != nil, "set METAMERGE_BENCH_MODEL=<model dir>"))
    func tokensPerSecond() throws {
        let directory = URL(fileURLWithPath: try #require(Self.environment["METAMERGE_BENCH_MODEL"]))
        let tokenCount = Self.environment["METAMERGE_BENCH_TOKENS"].flatMap(Int.init) ?? 64
        let runs = Self.environment["METAMERGE_BENCH_RUNS"].flatMap(Int.init) ?? 10
        let base = try Checkpoint(directory: directory)
        let model = try CausalLanguageModel(checkpoint: base)
        var generator = SplitMix64(seed: 1)
        let prompt = (0..<tokenCount).map { _ in Int(generator.next() % UInt64(model.config.vocabularySize)) }
        try measure("checkpoint", model, [prompt], runs: runs)
        let batchSize = Self.environment["METAMERGE_BENCH_BATCH"].flatMap(Int.init) ?? 8
        let batchTokens = Self.environment["METAMERGE_BENCH_BATCH_TOKENS"].flatMap(Int.init) ?? 16
        if batchSize > 0 {
            let prompts = (0..<batchSize).map { _ in
                (0..<batchTokens).map { _ in Int(generator.next() % UInt64(model.config.vocabularySize)) }
            }
            try measure("checkpoint, \(batchSize) prompts batched", model, prompts, runs: runs)
        }

        if let task = Self.environment["METAMERGE_BENCH_TASK"], !task.isEmpty {
            let combined = try CausalLanguageModel(
                base: base, tasks: [Checkpoint(directory: URL(fileURLWithPath: task))], coefficients: [0.5])
            try measure("combined θ0+0.5τ", combined, [prompt], runs: runs)
        }
    }

    /// Times `model.forward(batch: prompts)` (logits at every position); the tokens are all prompts' tokens.
    func measure(_ label: String, _ model: CausalLanguageModel, _ prompts: [[Int]], runs: Int) throws {
        var times: [Double] = []
        let tokens = prompts.reduce(0) { $0 + $1.count }
        for run in 0..<(runs + 2) {
            let start = DispatchTime.now().uptimeNanoseconds
            let outputs = try model.forward(batch: prompts)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            for (output, prompt) in zip(outputs, prompts) {
                #expect(output.logits.count == prompt.count * model.config.vocabularySize)
                #expect(output.logits.allSatisfy { $0.isFinite })
            }
            if run >= 2 { times.append(seconds) }
        }
        let median = times.sorted()[times.count / 2]
        print(
            #"{"implementation": "MetaMerge Swift (\#(label))", "tokens": \#(tokens), "prompts": \#(prompts.count), "#
                + #""median_seconds": \#(median), "tokens_per_second": \#(Double(tokens) / median)}"#)
    }
}

/// A tiny deterministic generator, so the Swift and PyTorch prompts need not match (speed does not depend on ids).
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
