import Foundation
import TestSupport
import Testing

/// `recommend --json` on the bundled tiny family with a probe on its prompts: the data-free rule's scale and
/// expected shortfall recomputed by NumPy from the probe's per-prompt datasets (h5py), and the abstention fields.
@Suite("Datafree: recommend --json against NumPy's medians of the probe")
struct DatafreeRecommendCommandTests {
    /// analyze, probe on the family's prompts.txt (α 0:1:0.25, s = 0.25, 0.5, 1, 2, 3) into one report, then
    /// `recommend REPORT --json`: the report and the parsed JSON.
    static func recommend(_ family: URL, label: String) throws -> (URL, [String: Any]) {
        let report = try makeTemporaryDirectory(label).appendingPathComponent("report.h5")
        let models =
            ["--base", family.appendingPathComponent("base").path]
            + ["add", "rev", "sort"].flatMap {
                ["--model", "\($0)=\(family.appendingPathComponent($0).path)"]
            }
        let analyze = try MetaMergeProcess.run(["analyze"] + models + ["-o", report.path, "--json"])
        try #require(analyze.status == 0, "\(analyze.stderr)")
        let probe = try MetaMergeProcess.run(
            ["probe"] + models + [
                "--prompts", family.appendingPathComponent("prompts.txt").path, "--alphas", "0:1:0.25", "--scales",
                "0.25,0.5,1,2,3", "-o", report.path, "--json",
            ])
        try #require(probe.status == 0, "\(probe.stderr)")
        let result = try MetaMergeProcess.run(["recommend", report.path, "--json"])
        try #require(result.status == 0, "\(result.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        return (report, try #require(json))
    }

    @Test(
        .enabled(
            if: h5pyCheckPython != nil,
            "set METAMERGE_H5PY_PYTHON to a Python with h5py and NumPy to run the NumPy check"))
    func tinyFamilyScaleAndShortfallMatchNumPy() throws {
        let (report, json) = try Self.recommend(RepositoryPaths.tinyFamily, label: "datafree-recommend")
        #expect(json["mode"] as? String == "data-free")
        let scale = try #require(json["scale"] as? Double)
        let weights = try #require(json["weights"] as? [Double])
        let linear = try #require(json["linearScale"] as? Double)
        let shortfall = try #require(json["expectedShortfall"] as? Double)

        // The documented rule, in NumPy from the probe's per-prompt datasets.
        let script = """
            import h5py, json, sys
            import numpy as np
            w = np.array(json.loads(sys.argv[2])); u = w / w.sum(); linear = float(sys.argv[3])
            with h5py.File(sys.argv[1], "r") as f:
                p = f["probe"]
                rho = np.median(p["chord_residual"][()], axis=1)
                gap = np.median(p["additivity_gap"][()], axis=1)
                T = len(rho); pairs = [(i, j) for i in range(T) for j in range(i + 1, T)]
                kappa = 4 * np.sum(u * u * rho) + 2 * sum(u[i] * u[j] * g for (i, j), g in zip(pairs, gap))
                s = min(linear, 0.1 / kappa)
                curve = np.median(p["merged_gap"][()], axis=1)
                print(json.dumps({"scale": s, "shortfall": float(np.interp(s, p["scales"][()], curve))}))
            """
        let weightsText = "[" + weights.map { "\($0)" }.joined(separator: ",") + "]"
        let (status, data) = try runPythonScript(
            try #require(h5pyCheckPython), script, [report.path, weightsText, "\(linear)"])
        try #require(status == 0)
        let numpy = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Double])
        #expect(abs(scale - numpy["scale"]!) <= 1e-9 * scale, "\(scale) vs NumPy \(numpy)")
        #expect(abs(shortfall - numpy["shortfall"]!) <= 1e-9, "\(shortfall) vs NumPy \(numpy)")
        // Tiny: the merged point is ≥ 0.25 from the linear prediction at every scale, so the rule abstains.
        #expect(shortfall > 0.25)
        #expect(json.keys.contains("coefficients") && json["coefficients"] is NSNull)
        #expect(json["labelledItemsNeeded"] as? Int == 50)
        let text = try MetaMergeProcess.run(["recommend", report.path])
        #expect(text.status == 0)
        #expect(text.stdout.hasPrefix("No reliable data-free point for this family"), "\(text.stdout)")
        #expect(text.stdout.contains("50 labelled items per task"), "\(text.stdout)")
    }

    /// The gentle family (near-linear): the rule does not abstain and prints its coefficients.
    @Test func gentleFamilyGetsCoefficients() throws {
        let (_, json) = try Self.recommend(
            RepositoryPaths.root.appendingPathComponent("examples/gentle-family"), label: "datafree-gentle")
        let coefficients = try #require(json["coefficients"] as? [Double])
        let scale = try #require(json["scale"] as? Double)
        #expect(coefficients.count == 3 && abs(coefficients.reduce(0, +) - scale) < 1e-9)
        #expect((json["expectedShortfall"] as? Double).map { $0 <= 0.25 } == true)
        #expect(json["labelledItemsNeeded"] == nil)
        #expect(json["mode"] as? String == "data-free")
    }
}
