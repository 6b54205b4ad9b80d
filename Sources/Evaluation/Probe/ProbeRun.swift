import Checkpoints
import Foundation
import Statistics
import Transformer

/// "Probe this family": the prompts of a source (checked once, ``PromptSource/load(for:vocabularySize:maxLength:)``),
/// MetaGPT's λ of the family (``FamilyLambdas``: the analysis report at ``report`` when it describes these weights,
/// else the norms-only pass), the probe (``LinearityProbe``), and its `/probe` group written into ``report``
/// (``ProbeReport``).
public struct ProbeRun {
    public let family: ModelFamily
    public let source: PromptSource
    public let probe: LinearityProbe
    /// The report to write (a new file, or an analysis report to add `/probe` to).
    public let report: URL

    public init(family: ModelFamily, source: PromptSource, probe: LinearityProbe, report: URL) {
        self.family = family
        self.source = source
        self.probe = probe
        self.report = report
    }

    /// Runs the probe and writes the report; nothing is written when anything fails.
    ///
    /// - Parameters:
    ///   - lambdasFromReport: called when λ were read from ``report`` (no pass ran).
    ///   - progress: called with (done, total) steps of the probe.
    /// - Throws: ``AnalysisError`` for a report path that may not be written, bad prompts or grids, a probe over
    ///   the memory limit; the model's and the reader's errors.
    public func run(
        lambdasFromReport: () -> Void = {}, progress: (@Sendable (Int, Int) -> Void)? = nil
    ) throws -> ProbeResult {
        try AnalysisReport.checkDestination(report, inputs: AnalysisReport.inputs(of: family))
        let config = try TransformerConfig(checkpoint: family.base)
        let prompts = try source.load(
            for: family.base, vocabularySize: config.vocabularySize, maxLength: config.maxPositionEmbeddings)
        let resolved = try FamilyLambdas.resolve(family, report: report)
        if resolved.source != .normsPass { lambdasFromReport() }
        let result = try probe.run(family, prompts: prompts, lambdas: resolved.lambdas, progress: progress)
        try ProbeReport.write(result, provenance: try Provenance.current(family), to: report)
        return result
    }
}
