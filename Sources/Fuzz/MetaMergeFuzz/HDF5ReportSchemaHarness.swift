import Foundation
import HDF5
import Statistics

/// `AnalysisReport.read(from:)` and `ProbeReport.readSummary(from:)` on well-formed HDF5 files whose *contents*
/// the input chooses: which of the report's groups, datasets and attributes exist, each one's element type
/// (Float64, Int64, UInt8 or strings), shape (rank 0–3, small extents) and values.
///
/// libhdf5 writes these files itself, so they are sound containers: every failure found here is in MetaMerge's
/// reading of the schema (counts that must agree, types, missing pieces), not in libhdf5's parsing of damaged
/// bytes — that is what ``HDF5ReportHarness`` covers.
struct HDF5ReportSchemaHarness: Harness {
    let url = scratchDirectory.appendingPathComponent("schema-report.h5")

    enum Kind: CaseIterable {
        case float64, int64, uint8, strings
    }

    /// The datasets of a report (analysis and probe), with the type the writer gives them.
    static let datasets: [(group: String, name: String, kind: Kind)] = [
        ("", "tasks", .strings),
        ("provenance", "role", .strings), ("provenance", "path", .strings), ("provenance", "fingerprint", .strings),
        ("tensors", "name", .strings), ("tensors", "group", .strings), ("tensors", "shape", .int64),
        ("tensors", "trimmed", .uint8), ("tensors", "gram", .float64), ("tensors", "base_sq_norm", .float64),
        ("tensors", "sum", .float64), ("tensors", "abs_sum", .float64), ("tensors", "max_abs", .float64),
        ("tensors", "elements", .int64), ("tensors", "zeros", .int64), ("tensors", "non_finite", .int64),
        ("tensors", "sign_conflicts", .int64), ("tensors", "coordinate_stats", .uint8),
        ("problems", "name", .strings), ("problems", "kind", .strings), ("problems", "detail_json", .strings),
        ("probe", "tasks", .strings), ("probe", "pairs", .strings), ("probe", "chord_residual_max", .float64),
        ("probe", "taylor_error_max", .float64), ("probe", "additivity_gap_max", .float64),
    ]
    static let groups = ["provenance", "tensors", "problems", "probe", "layers", "global"]
    static let words = [
        "", "one", "two", "base", "model.layers.0.w.weight", "metamerge-report", "missing",
        #"{"missing":{"models":["one"]}}"#, #"{"shapeMismatch":{"shapes":{"one":[2,3]}}}"#,
        #"{"vocabularyMismatch":{"rows":[3,4],"commonRows":3}}"#, #"{"notFloatingPoint":{"dtype":"I8"}}"#, "{}",
    ]

    func run(_ bytes: UnsafeRawBufferPointer) {
        var input = FuzzInput(bytes)
        do {
            try write(&input)
        } catch {
            return  // the input asked for something the writer refuses (e.g. a string dataset of rank 2): not a finding
        }
        do {
            let statistics = try AnalysisReport.read(from: url)
            blackHole(statistics.taskNames)
            blackHole(statistics.metagptLambdas)
        } catch {
            render(error)
        }
        do {
            blackHole(try ProbeReport.readSummary(from: url))
        } catch {
            render(error)
        }
    }

    private func write(_ input: inout FuzzInput) throws {
        let file = try HDF5File.create(at: url)
        defer { try? file.close() }
        let root = file.root
        for (name, isNumber) in [
            ("format", false), ("schema_version", true), ("tool_version", false), ("created_utc", false),
            ("command_line", false),
        ] {
            let op = input.byte()
            switch op % 8 {
            case 0: continue
            case 1: try root.setAttribute(name, input.double())
            case 2: try root.setAttribute(name, [input.int64(), input.int64()])
            case 3: try root.setAttribute(name, input.string(Self.words))
            default:
                if isNumber {
                    try root.setAttribute(name, Int64(input.int(upTo: 2)))
                } else {
                    try root.setAttribute(name, name == "format" ? "metamerge-report" : input.string(Self.words))
                }
            }
        }
        var groups: [String: HDF5Group] = ["": root]
        for name in Self.groups where input.byte() % 16 != 0 {
            groups[name] = try root.createGroup(name)
        }
        for entry in Self.datasets {
            guard let group = groups[entry.group] else { continue }
            let op = input.byte()
            if op % 16 == 0 { continue }
            let kind = op & 0xE0 == 0 ? Kind.allCases[Int(op >> 4) % Kind.allCases.count] : entry.kind
            let rank = [1, 1, 1, 2, 0, 3, 2, 1][input.int(upTo: 7)]
            let shape = (0..<rank).map { _ in input.int(upTo: 4) }
            let count = shape.reduce(1, *)
            switch kind {
            case .float64:
                try group.createDataset(entry.name, values: (0..<count).map { _ in input.double() }, shape: shape)
            case .int64:
                try group.createDataset(entry.name, values: (0..<count).map { _ in input.int64() }, shape: shape)
            case .uint8:
                try group.createDataset(entry.name, values: (0..<count).map { _ in input.byte() }, shape: shape)
            case .strings:
                try group.createDataset(entry.name, strings: (0..<count).map { _ in input.string(Self.words) })
            }
        }
    }
}
