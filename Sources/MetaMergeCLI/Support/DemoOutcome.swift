import Foundation

/// What the demo found on one family.
struct DemoOutcome {
    let name: String
    let maxCosine: Double?
    let chordResidual: Double
    let additivityGap: Double
    let passed: Bool
    let report: URL
    let sweep: SweepSummary?

    /// The sweep's findings on one family, for the side-by-side table.
    struct SweepSummary {
        let best: String
        let metagptAtOne: Double?
        let recommended: String
    }
}
