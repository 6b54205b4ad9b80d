import Checkpoints
import Foundation
import HDF5
import SafeTensors
import Statistics

/// `AnalysisReport.read(from:)` and `ProbeReport.readSummary(from:)` on the input as an HDF5 file.
///
/// libhdf5 (C, not instrumented) parses the container; MetaMerge's code then checks the report's schema:
/// attributes, dataset types and shapes, counts that must agree between datasets. The generated seed
/// (`METAMERGE_FUZZ_MAKE_SEED`) is a complete report of a one-tensor, two-task family with a `/probe` group.
struct HDF5ReportHarness: Harness {
    let url = scratchDirectory.appendingPathComponent("report.h5")

    func run(_ bytes: UnsafeRawBufferPointer) {
        overwrite(url, with: bytes)
        do {
            let statistics = try AnalysisReport.read(from: url)
            blackHole(statistics.taskNames)
            blackHole(statistics.tensors.count)
            blackHole(statistics.metagptLambdas)
        } catch {
            render(error)
        }
        do {
            let summary = try ProbeReport.readSummary(from: url)
            blackHole(summary)
        } catch {
            render(error)
        }
    }

    func makeSeed(_ url: URL) throws {
        let root = scratchDirectory.appendingPathComponent("seed-family")
        func model(_ name: String, _ values: [Float]) throws -> Checkpoint {
            let directory = root.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try Data(#"{"architectures": ["LlamaForCausalLM"]}"#.utf8).write(
                to: directory.appendingPathComponent("config.json"))
            let writer = try SafeTensorsWriter(
                url: directory.appendingPathComponent("model.safetensors"),
                tensors: [("model.layers.0.w.weight", .f32, [2])])
            try values.withUnsafeBufferPointer { try writer.append("model.layers.0.w.weight", float32: $0) }
            try writer.finish()
            return try Checkpoint(directory: directory)
        }
        let family = try ModelFamily(
            base: model("base", [1, 1]),
            tasks: [
                .init(name: "one", checkpoint: try model("one", [4, 5])),
                .init(name: "two", checkpoint: try model("two", [5, -2])),
            ])
        let statistics = try StatisticsPass(threads: 1).run(family, commandLine: "metamerge analyze")
        try AnalysisReport.write(statistics, to: url)
        let file = try HDF5File.open(at: url, mode: .readWrite)
        let probe = try file.root.createGroup("probe")
        try probe.createDataset("tasks", strings: ["one", "two"])
        try probe.createDataset("pairs", strings: ["one+two"])
        try probe.createDataset("chord_residual_max", values: [0.01, 0.02])
        try probe.createDataset("taylor_error_max", values: [0.03, 0.04])
        try probe.createDataset("additivity_gap_max", values: [0.05])
        try file.close()
        try? FileManager.default.removeItem(at: root)
    }
}
