import Checkpoints
import Evaluation
import Foundation
import SafeTensors
import Testing
import Transformer

/// The probe at scale, on a family directory `METAMERGE_PROBE_FAMILY` holding `base/` and task subdirectories
/// (`benchmarks/make_llama7b_family.py`); run by `benchmarks/probe_vs_torch.sh` and `benchmarks/probe_large.sh` with
/// `-c release`. Optional: `METAMERGE_PROBE_ALPHAS` (default `0,0.5,1`), `METAMERGE_PROBE_SCALES` (`1`),
/// `METAMERGE_PROBE_PROMPTS` (8) random prompts of `METAMERGE_PROBE_LENGTH` (16) tokens (the CLI's generator,
/// seed 0); λ = 1/T each.
///
/// Prints one JSON line: wall time, the matrix-product FLOPs, the sgemm rates measured just before (same shapes as
/// the engine's products: N rows, and a routed expert's N·k/E rows), the floor (``ProductFloor``), peak anonymous
/// RSS (sampled every 20 ms from /proc/self/status `RssAnon`), bytes read from storage (/proc/self/io
/// `read_bytes`) and the family's size.
@Suite("ProbeBenchmark")
struct ProbeBenchmark {
    static let environment = ProcessInfo.processInfo.environment

    @Test(
        "the probe on a large family",
        .enabled(if: environment["METAMERGE_PROBE_FAMILY"] != nil, "set METAMERGE_PROBE_FAMILY=<family dir>"))
    func probeAtScale() throws {
        let root = URL(fileURLWithPath: try #require(Self.environment["METAMERGE_PROBE_FAMILY"]))
        let taskNames = try FileManager.default.contentsOfDirectory(atPath: root.path).filter { $0 != "base" }.sorted()
        let base = try Checkpoint(directory: root.appendingPathComponent("base"))
        let family = try ModelFamily(
            base: base,
            tasks: try taskNames.map {
                .init(name: $0, checkpoint: try Checkpoint(directory: root.appendingPathComponent($0)))
            })
        let config = try TransformerConfig(base.config)
        let count = Self.environment["METAMERGE_PROBE_PROMPTS"].flatMap(Int.init) ?? 8
        let length = Self.environment["METAMERGE_PROBE_LENGTH"].flatMap(Int.init) ?? 16
        let prompts = try PromptSource.random(count: count, length: length, seed: 0)
            .prompts(for: base, vocabularySize: config.vocabularySize, maxLength: config.maxPositionEmbeddings)
        let probe = LinearityProbe(
            alphas: try LinearityProbe.parseGrid(Self.environment["METAMERGE_PROBE_ALPHAS"] ?? "0,0.5,1"),
            scales: try LinearityProbe.parseGrid(Self.environment["METAMERGE_PROBE_SCALES"] ?? "1"))
        let lambdas = [Double](repeating: 1 / Double(taskNames.count), count: taskNames.count)

        let engine = try LockstepEngine(
            config: config, base: CheckpointWeights(base), tasks: family.tasks.map { CheckpointWeights($0.checkpoint) })
        let batch = PromptBatch(prompts)
        let grid = Set(probe.alphas + [0, 1]).count
        let T = taskNames.count
        let points = 1 + T * (grid - 1 + 2) + T * (T - 1) / 2 + probe.scales.count
        let floor = engine.productFloor(points: points, batch: batch)
        let estimate = try probe.estimatedPeakBytes(family: family, prompts: prompts, lambdas: lambdas)
        let inputBytes = ([base] + family.tasks.map(\.checkpoint)).reduce(0) { sum, c in
            sum + c.tensorNames.reduce(0) { $0 + (c.info($1)?.byteCount ?? 0) }
        }

        let sampler = PeakSampler()
        sampler.start()
        let readBefore = Self.readBytes()
        let start = DispatchTime.now().uptimeNanoseconds
        let lastPrint = LockedDouble()
        let result = try probe.run(family, prompts: prompts, lambdas: lambdas) { done, total in
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            if elapsed - lastPrint.value > 10 || done == total {
                lastPrint.value = elapsed
                let eta = elapsed / Double(done) * Double(total - done)
                FileHandle.standardError.write(
                    Data(
                        String(
                            format: "probe %d/%d steps, %.0f s elapsed, ETA %.0f s\n", done, total, elapsed, eta
                        ).utf8))
            }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let read = Self.readBytes() - readBefore
        let peak = sampler.stop()
        #expect(result.chordResidual.allSatisfy { $0.allSatisfy { $0.isFinite } })
        print(
            #"{"implementation": "MetaMerge Swift probe", "points": \#(points), "tokens": \#(batch.tokenCount), "#
                + #""seconds": \#(seconds), "product_flops": \#(floor.flops), "#
                + #""routed_expert_flops": \#(floor.routedFLOPs), "#
                + #""sgemm_flops_per_second": \#(floor.denseRate), "#
                + #""routed_sgemm_flops_per_second": \#(floor.routedRate ?? 0), "#
                + #""floor_seconds": \#(floor.seconds), "peak_anon_rss_bytes": \#(peak), "#
                + #""estimated_peak_bytes": \#(estimate), "#
                + #""storage_read_bytes": \#(read), "input_bytes": \#(inputBytes), "#
                + #""chord_residual": \#(result.chordResidual), "additivity_gap": \#(result.additivityGap), "#
                + #""prompts": \#(prompts)}"#)
    }

    static func readBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/io", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("read_bytes:") {
            return Int(line.split(separator: " ").last ?? "") ?? 0
        }
        return 0
    }
}

final class LockedDouble: @unchecked Sendable {
    private let lock = NSLock()
    private var stored = 0.0
    var value: Double {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
}

/// Samples /proc/self/status `RssAnon` every 20 ms on its own thread and keeps the maximum (bytes).
final class PeakSampler: @unchecked Sendable {
    private let lock = NSLock()
    private var peak = 0
    private var running = true
    private var thread: Thread?

    static func anonymousRSS() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("RssAnon:") {
            let kilobytes = line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first
            return (kilobytes.flatMap { Int($0) } ?? 0) * 1024
        }
        return 0
    }

    func start() {
        let thread = Thread { [self] in
            while lock.withLock({ running }) {
                let now = Self.anonymousRSS()
                lock.withLock { peak = max(peak, now) }
                Thread.sleep(forTimeInterval: 0.02)
            }
        }
        self.thread = thread
        thread.start()
    }

    func stop() -> Int {
        let now = Self.anonymousRSS()
        return lock.withLock {
            running = false
            peak = max(peak, now)
            return peak
        }
    }
}
