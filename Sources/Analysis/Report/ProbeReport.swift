import Foundation

/// The probe's HDF5 form (the `/probe` group of the schema). Reading is what the gate needs for now.
public enum ProbeReport {
    /// Reads the per-task and per-pair linearity maxima the gate checks.
    public static func readSummary(from url: URL) throws -> LinearitySummary {
        let file = try AnalysisReport.openReport(url)
        do {
            let probe = try file.root.group("probe")
            let tasks = try probe.dataset("tasks").readStrings()
            let pairs = try probe.dataset("pairs").readStrings()
            let chord = try probe.dataset("chord_residual_max").read(Double.self).values
            let taylor = try probe.dataset("taylor_error_max").read(Double.self).values
            let additivity = try probe.dataset("additivity_gap_max").read(Double.self).values
            return LinearitySummary(
                chordResidual: Array(zip(tasks, chord)), taylorError: Array(zip(tasks, taylor)),
                additivityGap: Array(zip(pairs, additivity)))
        } catch {
            throw AnalysisError.badReport(path: url.path, detail: "no complete /probe group (write one with metamerge probe): \(error)")
        }
    }
}
