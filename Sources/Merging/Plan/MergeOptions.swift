import Statistics
import Checkpoints
import Foundation

/// What a caller can set besides the config.
public struct MergeOptions: Sendable {
    /// Seed for DARE/DELLA draws; drawn at random (and reported) when nil.
    public var randomSeed: UInt64?
    public var threads: Int
    public var shardSize: ByteSize
    /// Overrides the config's `gate:` block.
    public var gate: GateThresholds?
    /// Merge even when the gate fails (the verdict still goes into the model card).
    public var force: Bool
    /// A report from `metamerge analyze` to take the statistics from instead of computing them.
    public var statisticsReport: URL?
    /// A probe report (`metamerge probe`) for the gate's linearity thresholds.
    public var probeReport: URL?
    /// Elements per chunk of the streaming executor.
    public var chunkElements: Int
    /// Write a merge whose result holds NaN / ±Inf (otherwise it stops with ``MergeError/nonFinite``).
    public var allowNonFinite = false

    public init(
        randomSeed: UInt64? = nil, threads: Int = ProcessInfo.processInfo.activeProcessorCount,
        shardSize: ByteSize = .fiveGigabytes, gate: GateThresholds? = nil, force: Bool = false,
        statisticsReport: URL? = nil, probeReport: URL? = nil, chunkElements: Int = 1 << 20
    ) {
        self.probeReport = probeReport
        self.randomSeed = randomSeed
        self.threads = max(1, threads)
        self.shardSize = shardSize
        self.gate = gate
        self.force = force
        self.statisticsReport = statisticsReport
        self.chunkElements = max(1, chunkElements)
    }
}
