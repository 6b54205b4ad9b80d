import Foundation
import HDF5
import TestSupport
import Testing

/// The Python with h5py that checks files written by this module, from `METAMERGE_H5PY_PYTHON`.
private let h5pyPython = ProcessInfo.processInfo.environment["METAMERGE_H5PY_PYTHON"].flatMap { $0.isEmpty ? nil : $0 }

/// Writes one file with every kind of content the module produces, then has h5py check it with
/// `scripts/checks/h5py_roundtrip.py` against the JSON description of what was written.
///
/// The test needs a Python with h5py, given by `METAMERGE_H5PY_PYTHON` (e.g. `/work/venv/bin/python`, or the
/// Makefile's `.venv/bin/python`). Without it, Swift Testing reports the test as skipped with the comment below —
/// it is not silently counted as passed.
@Suite("h5py reads what the module writes")
struct H5pyRoundTripTests {
    @Test(
        .enabled(
            if: h5pyPython != nil,
            "set METAMERGE_H5PY_PYTHON to a Python with h5py (scripts/requirements-check.txt) to run the h5py check"))
    func h5pyReadsTheFile() throws {
        let python = try #require(h5pyPython)
        let directory = try makeTemporaryDirectory("hdf5-h5py")
        let url = directory.appendingPathComponent("written-by-swift.h5")
        let expectedURL = directory.appendingPathComponent("expected.json")

        var datasets: [String: Any] = [:]
        var attributes: [String: [String: Any]] = [:]
        try withNewFile(at: url) { file in
            let root = file.root
            func numeric<T: HDF5Numeric>(
                _ path: String, _ dtype: String, _ shape: [Int], compression: HDF5Compression = .none,
                _ value: (Int) -> T
            ) throws {
                let values = (0..<elementCount(shape)).map(value)
                try root.createDataset(path, values: values, shape: shape, compression: compression)
                var spec: [String: Any] = ["dtype": dtype, "shape": shape, "values": values]
                if case .gzip = compression { spec["compression"] = "gzip" }
                datasets["/" + path] = spec
            }
            try numeric("float64_3d", "float64", [2, 3, 4]) { Double($0) * 0.1 - 1 }
            try numeric("float32", "float32", [5]) { Float($0) * 0.25 }
            try numeric("int64", "int64", [2, 2]) { Int64($0) * 4_000_000_000 - 3 }
            try numeric("int32", "int32", [3]) { Int32($0) - 1 }
            try numeric("uint8", "uint8", [4]) { UInt8($0 * 85) }
            try numeric("scalar", "float64", []) { _ in 2.5 }
            try numeric("empty", "float64", [0]) { Double($0) }
            try numeric("empty_3d", "int32", [2, 0, 3]) { Int32($0) }
            try numeric("stats/layers/0/gram", "float64", [2, 2]) { [1.0, 0.25, 0.25, 1.0][$0] }
            try numeric("stats/compressed", "float64", [200, 300], compression: .gzip(level: 4)) { Double($0 % 11) }

            let names = ["model.layers.0.self_attn.q_proj.weight", "λ", "τ_math", ""]
            try root.createDataset("stats/names", strings: names)
            datasets["/stats/names"] = ["dtype": "string", "shape": [names.count], "values": names]
            try root.createDataset("no_strings", strings: [])
            datasets["/no_strings"] = ["dtype": "string", "shape": [0], "values": [String]()]

            func attribute<T: HDF5AttributeConvertible>(
                _ object: any HDF5Object, _ name: String, _ value: T, _ dtype: String, _ shape: [Int], _ json: Any
            ) throws {
                try object.setAttribute(name, value)
                attributes[object.path, default: [:]][name] = ["dtype": dtype, "shape": shape, "value": json]
            }
            let stats = try root.group("stats")
            let gram = try stats.dataset("layers/0/gram")
            try attribute(root, "title", "MetaGPT report λ", "string", [], "MetaGPT report λ")
            try attribute(root, "version", 1, "int64", [], 1)
            try attribute(root, "eps", 1e-6, "float64", [], 1e-6)
            try attribute(stats, "alphas", [0.0, 0.1, 0.2, 1.0], "float64", [4], [0.0, 0.1, 0.2, 1.0])
            try attribute(
                stats, "ids", [Int64(-1), 0, 9_007_199_254_740_993], "int64", [3], [-1, 0, 9_007_199_254_740_993])
            try attribute(stats, "tasks", ["math", "τ-code"], "string", [2], ["math", "τ-code"])
            try attribute(gram, "units", "squared L2 norm", "string", [], "squared L2 norm")
            try attribute(gram, "no_values", [Double](), "float64", [0], [Double]())
        }
        let expected: [String: Any] = [
            "groups": [
                "/": [
                    "empty", "empty_3d", "float32", "float64_3d", "int32", "int64", "no_strings", "scalar", "stats",
                    "uint8",
                ],
                "/stats": ["compressed", "layers", "names"],
                "/stats/layers": ["0"],
                "/stats/layers/0": ["gram"],
            ],
            "datasets": datasets,
            "attributes": attributes,
        ]
        try JSONSerialization.data(withJSONObject: expected, options: [.prettyPrinted, .sortedKeys]).write(
            to: expectedURL)

        let script = RepositoryPaths.root.appendingPathComponent("scripts/checks/h5py_roundtrip.py")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [script.path, url.path, expectedURL.path]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "h5py_roundtrip.py failed:\n\(text)")
        #expect(text.contains("ok: h5py"), "\(text)")
    }
}
