import Foundation
import HDF5
import Statistics

/// Writing the probe's `/probe` group.
extension ProbeReport {
    /// Writes `result` as `/probe` into `url`, atomically. When `url` is already a MetaMerge analysis report, the
    /// group is added to a copy of it that then replaces it; otherwise a new file holds the probe alone. A file
    /// that already has a `/probe` group has it replaced.
    public static func write(_ result: ProbeResult, provenance: Provenance, to url: URL) throws {
        // Only an analysis report (with /tensors) is extended; anything else at `url` is replaced.
        var analysis: HDF5File? =
            FileManager.default.fileExists(atPath: url.path) ? try? AnalysisReport.openReport(url) : nil
        if let file = analysis, try !file.root.exists("tensors") { analysis = nil }
        let hasProbe = try analysis?.root.exists("probe") ?? false
        try analysis?.close()
        if analysis != nil && hasProbe {
            // HDF5 does not reclaim a deleted group's space in place: rewrite the analysis into a fresh file.
            let statistics = try AnalysisReport.read(from: url)
            try AnalysisReport.writeAtomically(to: url) { file in
                try AnalysisReport.write(statistics, into: file)
                try write(result, into: file.root, models: provenance.models)
            }
        } else if analysis != nil {
            // The analysis is copied as it is: check it through the reader first, so a damaged one is refused.
            _ = try AnalysisReport.read(from: url)
            try AnalysisReport.writeAtomically(to: url, copying: url) {
                try write(result, into: $0.root, models: provenance.models)
            }
        } else {
            try AnalysisReport.writeAtomically(to: url) { file in
                try AnalysisReport.writeRootAttributes(file.root, provenance: provenance)
                try file.root.createDataset("tasks", strings: result.taskNames)
                try write(result, into: file.root, models: provenance.models)
            }
        }
    }

    /// The `/probe` group; `models` (the base and task models run, with weight fingerprints) go into
    /// `/probe/model_role`, `/probe/model_path`, `/probe/model_fingerprint`, and a fingerprint of the prompts' token
    /// ids into the `prompts_fingerprint` attribute, so a gate can refuse a probe of other models.
    static func write(_ result: ProbeResult, into root: HDF5Group, models: [Provenance.Model]) throws {
        let probe = try root.createGroup("probe")
        try probe.createDataset("model_role", strings: models.map(\.role))
        try probe.createDataset("model_path", strings: models.map(\.path))
        try probe.createDataset("model_fingerprint", strings: models.map(\.fingerprint))
        try probe.setAttribute("prompts_fingerprint", promptsFingerprint(result.prompts))
        let T = result.taskNames.count, Q = result.prompts.count, P = result.pairNames.count
        try probe.setAttribute("h", result.taylorStep)
        try probe.createDataset("tasks", strings: result.taskNames)
        try probe.createDataset("pairs", strings: result.pairNames)
        try probe.createDataset("alphas", values: result.alphas)
        try probe.createDataset("prompts", strings: result.prompts.map { $0.map(String.init).joined(separator: " ") })
        // The prompts' ids as a ragged array: prompt q is prompt_token_ids[prompt_offsets[q] ..< prompt_offsets[q +
        // 1]].
        try probe.createDataset("prompt_token_ids", values: result.prompts.flatMap { $0.map(Int64.init) })
        var offsets: [Int64] = [0]
        for prompt in result.prompts { offsets.append(offsets.last! + Int64(prompt.count)) }
        try probe.createDataset("prompt_offsets", values: offsets)
        if let texts = result.promptTexts { try probe.createDataset("prompt_texts", strings: texts) }
        try probe.createDataset("chord_residual", values: result.chordResidual.flatMap { $0 }, shape: [T, Q])
        try probe.createDataset("taylor_error", values: result.taylorError.flatMap { $0 }, shape: [T, Q])
        try probe.createDataset("r_squared", values: result.rSquared.flatMap { $0 }, shape: [T, Q])
        try probe.createDataset("additivity_gap", values: result.additivityGap.flatMap { $0 }, shape: [P, Q])
        try probe.createDataset("scales", values: result.scales)
        try probe.createDataset("metagpt_lambda", values: result.lambdas)
        try probe.createDataset("merged_gap", values: result.mergedGap.flatMap { $0 }, shape: [result.scales.count, Q])
        let summary = result.summary
        try probe.createDataset("chord_residual_max", values: summary.chordResidual.map(\.1))
        try probe.createDataset("taylor_error_max", values: summary.taylorError.map(\.1))
        try probe.createDataset("additivity_gap_max", values: summary.additivityGap.map(\.1))
        let K = result.curveCoordinates.first?.count ?? 0
        try probe.createDataset(
            "curves", values: result.curves.flatMap { $0.flatMap { $0.map(Float.init) } },
            shape: [T, result.alphas.count, K])
        try probe.createDataset(
            "curve_coordinates", values: result.curveCoordinates.flatMap { $0.map(Int64.init) }, shape: [T, K])
        if let tokens = result.curveTokens, tokens.count == T, tokens.allSatisfy({ $0.count == K }) {
            try probe.createDataset("curve_tokens", strings: tokens.flatMap { $0 })  // T × K, row-major
        }
    }

    /// 64-bit FNV-1a over the prompts' token ids (each as 8 little-endian bytes, a prompt ended by −1), as 16 hex
    /// digits.
    static func promptsFingerprint(_ prompts: [[Int]]) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for id in prompts.flatMap({ $0 + [-1] }) {
            var value = UInt64(bitPattern: Int64(id)).littleEndian
            withUnsafeBytes(of: &value) { bytes in
                for byte in bytes {
                    hash ^= UInt64(byte)
                    hash = hash &* 0x0000_0100_0000_01b3
                }
            }
        }
        return String(format: "%016llx", hash)
    }
}
