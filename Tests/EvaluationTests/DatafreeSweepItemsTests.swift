import Foundation
import HDF5
import TestSupport
import Testing

@testable import Evaluation
@testable import Statistics

/// `/sweep/item_offsets`, `item_exact`, `item_nll`: each point's per-item results, so that a subsample of the items
/// can be scored (benchmarks/few_labels.py) without running the sweep again.
@Suite("Datafree: the sweep's per-item results in /sweep")
struct DatafreeSweepItemsTests {
    /// The small sweep of ``SweepReportTests/sweep()`` (2 weightings × 3 scales, 12 items of add and of rev), written.
    static func written(_ label: String) throws -> (SweepResult, URL) {
        let result = try SweepReportTests.sweep()
        let url = try makeTemporaryDirectory(label).appendingPathComponent("s.h5")
        try EvaluationReport.write(result, provenance: SweepReportTests.provenance, to: url)
        return (result, url)
    }

    /// The item datasets hold every point's items in task order: read back, they are the run's own per-item results,
    /// and summed over a task's columns they give `exact_match`.
    @Test func itemDatasetsReadBack() throws {
        let (result, url) = try Self.written("sweep-items")
        let file = try HDF5File.open(at: url)
        defer { try? file.close() }
        let sweep = try file.root.group("sweep")
        #expect(try sweep.dataset("item_offsets").read(Int64.self).values == [0, 12, 24])
        let exact = try sweep.dataset("item_exact").read(UInt8.self)
        #expect(exact.shape == [2, 3, 24])
        let nll = try sweep.dataset("item_nll").read(Double.self)
        #expect(nll.shape == [2, 3, 24])
        for w in 0..<2 {
            for s in 0..<3 {
                let row = (w * 3 + s) * 24
                let metrics = result.metrics[w][s]
                let expectedExact: [UInt8] = metrics.flatMap { $0.itemExact.map { $0 ? 1 : 0 } }
                let expectedNLL: [Double] = metrics.flatMap(\.itemNLL)
                let readExact = Array(exact.values[row..<(row + 24)])
                let readNLL = Array(nll.values[row..<(row + 24)])
                #expect(readExact == expectedExact)
                #expect(readNLL == expectedNLL)
            }
        }
        // The points differ (else the layout check above could not tell rows apart).
        let rows: [[Double]] = (0..<6).map { Array(nll.values[($0 * 24)..<($0 * 24 + 24)]) }
        #expect(Set(rows).count == 6)
    }

    /// h5py reads the item datasets with the documented dtypes and shapes; per task, the items' exact flags sum to
    /// `exact_match` and their NLL's mean is `mean_nll` (within 1e-12), at every point.
    @Test(
        .enabled(
            if: h5pyCheckPython != nil,
            "set METAMERGE_H5PY_PYTHON to a Python with h5py (scripts/requirements-check.txt) to run the h5py check"))
    func h5pyReadsTheItemDatasets() throws {
        let (result, url) = try Self.written("sweep-items-h5py")
        let script = """
            import h5py, json, sys
            import numpy as np
            with h5py.File(sys.argv[1], "r") as f:
                s = f["sweep"]
                o, ex, nll = s["item_offsets"][()], s["item_exact"][()], s["item_nll"][()]
                counts = np.stack([ex[:, :, o[e]:o[e + 1]].sum(axis=2) for e in range(len(o) - 1)], axis=2)
                means = np.stack([nll[:, :, o[e]:o[e + 1]].mean(axis=2) for e in range(len(o) - 1)], axis=2)
                print(json.dumps({"dtypes": [str(o.dtype), str(ex.dtype), str(nll.dtype)], "shape": list(ex.shape),
                                  "counts_equal": bool((counts == s["exact_match"][()]).all()),
                                  "nll_close": bool(np.allclose(means, s["mean_nll"][()], rtol=1e-12, atol=0)),
                                  "exact_total": int(ex.sum())}))
            """
        let (status, data) = try runPythonScript(try #require(h5pyCheckPython), script, [url.path])
        #expect(status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["dtypes"] as? [String] == ["int64", "uint8", "float64"])
        #expect(object["shape"] as? [Int] == [2, 3, 24])
        #expect(object["counts_equal"] as? Bool == true)
        #expect(object["nll_close"] as? Bool == true)
        let total = result.metrics.flatMap { $0.flatMap { $0.map(\.exactMatch) } }.reduce(0, +)
        #expect(object["exact_total"] as? Int == total)
    }
}
