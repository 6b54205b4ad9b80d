import ArgumentParser
import Statistics

/// `check`'s thresholds: `--max-cosine` (with `--scope`) and the probe's linearity thresholds, read as one
/// ``GateThresholds``.
struct GateThresholdOptions: ParsableArguments {
    @Option(help: "Largest |cosine| allowed between task vectors.")
    var maxCosine: Double?

    @Option(help: "Where to check cosines: global, layer or tensor.")
    var scope: GateScope = .global

    @Option(help: "Largest chord residual allowed (needs a probe report).")
    var maxChordResidual: Double?

    @Option(help: "Largest first-order (Taylor) error allowed (needs a probe report).")
    var maxTaylorError: Double?

    @Option(help: "Largest additivity gap allowed (needs a probe report).")
    var maxAdditivityGap: Double?

    /// Whether no threshold was given (`--scope` alone is none).
    var isEmpty: Bool {
        maxCosine == nil && maxChordResidual == nil && maxTaylorError == nil && maxAdditivityGap == nil
    }

    var thresholds: GateThresholds {
        GateThresholds(
            maxCosine: maxCosine, scope: scope, maxChordResidual: maxChordResidual, maxTaylorError: maxTaylorError,
            maxAdditivityGap: maxAdditivityGap)
    }
}

extension GateScope: ExpressibleByArgument {}
