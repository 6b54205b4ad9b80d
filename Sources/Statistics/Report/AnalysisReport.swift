import Checkpoints
import Foundation
import HDF5
import SafeTensors

/// The HDF5 form of ``TaskVectorStatistics`` (schema in `docs/hdf5-schema.md`).
///
/// Raw sums (Gram matrices, ‖θ0‖², Σ τ, Σ |τ|, max |τ|, counts) are stored per tensor so the statistics can be
/// read back exactly; derived figures (cosines, norms, relative norms, λ, means, standard deviations, rates) are
/// stored beside them per tensor, per group and globally, for plotting without recomputation.
public enum AnalysisReport {
    /// The schema this build writes and the newest it reads.
    public static let schemaVersion = 1

    /// Writes `statistics` to `url`, atomically: into a temporary sibling renamed into place when complete.
    public static func write(_ statistics: TaskVectorStatistics, to url: URL) throws {
        try writeAtomically(to: url) { file in try write(statistics, into: file) }
    }

    /// Writes into an open file (used when a probe is added to the same report).
    package static func write(_ statistics: TaskVectorStatistics, into file: HDF5File) throws {
        let root = file.root
        try writeRootAttributes(root, provenance: statistics.provenance)
        try root.createDataset("tasks", strings: statistics.taskNames)
        let provenance = try root.createGroup("provenance")
        let models = statistics.provenance.models
        try provenance.createDataset("role", strings: models.map(\.role))
        try provenance.createDataset("path", strings: models.map(\.path))
        try provenance.createDataset("fingerprint", strings: models.map(\.fingerprint))

        let T = statistics.taskCount
        let tensors = try root.createGroup("tensors")
        let list = statistics.tensors
        try tensors.createDataset("name", strings: list.map(\.name))
        try tensors.createDataset("group", strings: list.map { $0.group.description })
        let maxRank = max(list.map(\.shape.count).max() ?? 0, 1)
        try tensors.createDataset(
            "shape",
            values: list.flatMap { $0.shape.map(Int64.init) + [Int64](repeating: -1, count: maxRank - $0.shape.count) },
            shape: [list.count, maxRank])
        try tensors.createDataset("trimmed", values: list.map { UInt8($0.trimmed ? 1 : 0) })
        try writeMoments(list.map(\.moments), into: tensors, taskCount: T, raw: true)

        let groupList = statistics.groups
        let groups = try root.createGroup("layers")
        try groups.createDataset("label", strings: groupList.map(\.label))
        try groups.createDataset(
            "layer_index", values: groupList.map { Int64(TensorGroup.layerIndex(fromLabel: $0.label) ?? -1) })
        try groups.createDataset("tensor_count", values: groupList.map { Int64($0.tensorCount) })
        try writeMoments(groupList.map(\.moments), into: groups, taskCount: T, raw: false)

        let global = try root.createGroup("global")
        try writeMoments([statistics.global.moments], into: global, taskCount: T, raw: false, scalar: true)

        let skipped = try root.createGroup("problems")
        try skipped.createDataset("name", strings: statistics.problems.map(\.name))
        try skipped.createDataset("kind", strings: statistics.problems.map(\.kind.label))
        try skipped.createDataset("description", strings: statistics.problems.map(\.description))
        try skipped.createDataset("compared", values: statistics.problems.map { UInt8($0.isCompared ? 1 : 0) })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try skipped.createDataset(
            "detail_json",
            strings: try statistics.problems.map { String(decoding: try encoder.encode($0.kind), as: UTF8.self) })
    }

    package static func writeRootAttributes(_ root: HDF5Group, provenance: Provenance) throws {
        try root.setAttribute("schema_version", Int64(schemaVersion))
        try root.setAttribute("format", "metamerge-report")
        try root.setAttribute("tool", "metamerge")
        try root.setAttribute("tool_version", provenance.toolVersion)
        try root.setAttribute("created_utc", provenance.createdUTC)
        try root.setAttribute("command_line", provenance.commandLine)
    }

    /// Writes the figures of `moments` (one entry per row) as datasets with a leading row axis (none for the
    /// global group, `scalar`). With `raw`, also the sums needed to read the statistics back.
    private static func writeMoments(
        _ moments: [TaskVectorMoments], into group: HDF5Group, taskCount T: Int, raw: Bool, scalar: Bool = false
    ) throws {
        let rows = moments.count
        func put(_ name: String, _ values: [Double], _ tail: Int...) throws {
            try group.createDataset(name, values: values, shape: (scalar ? [] : [rows]) + tail)
        }
        func putInt(_ name: String, _ values: [Int], _ tail: Int...) throws {
            try group.createDataset(name, values: values.map(Int64.init), shape: (scalar ? [] : [rows]) + tail)
        }
        try put("gram", moments.flatMap(\.gram.entries), T, T)
        try put("cosine", moments.flatMap(\.gram.cosines), T, T)
        try put("norm", moments.flatMap(\.norms), T)
        try put("base_norm", moments.map(\.baseNorm))
        try put("relative_norm", moments.flatMap(\.relativeNorms), T)
        try put("metagpt_lambda", moments.flatMap(\.gram.metagptLambdas), T)
        try put("mean_abs", moments.flatMap(\.meanAbsolute), T)
        try put("std", moments.flatMap(\.standardDeviation), T)
        try put("max_abs", moments.flatMap(\.maxAbsolute), T)
        try put("zero_fraction", moments.flatMap(\.zeroFraction), T)
        try put("sign_conflict_rate", moments.map(\.signConflictRate))
        try putInt("elements", moments.map(\.elements))
        try putInt("non_finite", moments.flatMap(\.nonFinite), T + 1)
        try group.createDataset(
            "coordinate_stats", values: moments.map { UInt8($0.coordinateStatistics ? 1 : 0) },
            shape: scalar ? [] : [rows])
        if raw {
            try put("base_sq_norm", moments.map(\.baseSquaredNorm))
            try put("sum", moments.flatMap(\.sum), T)
            try put("abs_sum", moments.flatMap(\.absoluteSum), T)
            try putInt("zeros", moments.flatMap(\.zeros), T)
            try putInt("sign_conflicts", moments.map(\.signConflicts))
        }
    }

    /// Reads a report written by ``write(_:to:)`` back into statistics, exactly.
    ///
    /// - Throws: ``AnalysisError/badReport(path:detail:cause:)`` for a file that is not a MetaMerge report or lacks a
    ///   dataset, ``AnalysisError/newerSchema(path:found:supported:)`` for a newer schema.
    public static func read(from url: URL) throws -> TaskVectorStatistics {
        let file = try openReport(url)
        do {
            let root = file.root
            let taskNames = try root.dataset("tasks").readStrings()
            let T = taskNames.count
            guard T > 0, Set(taskNames).count == T else {
                throw AnalysisError.badReport(
                    path: url.path, detail: "/tasks holds \(taskNames); expected one or more distinct task names")
            }
            let provenanceGroup = try root.group("provenance")
            let roles = try provenanceGroup.dataset("role").readStrings()
            let paths = try provenanceGroup.dataset("path").readStrings()
            let prints = try provenanceGroup.dataset("fingerprint").readStrings()
            guard paths.count == roles.count, prints.count == roles.count else {
                throw AnalysisError.badReport(
                    path: url.path,
                    detail:
                        "/provenance datasets disagree on the model count (role \(roles.count), path \(paths.count), "
                        + "fingerprint \(prints.count))"
                )
            }
            guard roles.isEmpty || roles == ["base"] + taskNames else {
                throw AnalysisError.badReport(
                    path: url.path,
                    detail: "/provenance/role is \(roles); expected base then the tasks of /tasks \(taskNames)")
            }
            let provenance = Provenance(
                toolVersion: try root.attribute("tool_version", as: String.self),
                createdUTC: try root.attribute("created_utc", as: String.self),
                commandLine: try root.attribute("command_line", as: String.self),
                models: (0..<roles.count).map {
                    Provenance.Model(role: roles[$0], path: paths[$0], fingerprint: prints[$0])
                })

            let tensors = try root.group("tensors")
            let names = try tensors.dataset("name").readStrings()
            let N = names.count
            var seen = Set<String>()
            for (n, name) in names.enumerated() where !seen.insert(name).inserted {
                throw AnalysisError.badReport(
                    path: url.path,
                    detail: "/tensors/name[\(n)] = '\(name)' is listed twice; expected one row per tensor")
            }
            let shapes = try tensors.dataset("shape").read(Int64.self)
            let rank = shapes.shape.count == 2 ? shapes.shape[1] : 0
            let trimmed = try tensors.dataset("trimmed").read(UInt8.self).values
            func values<T: HDF5Numeric>(_ name: String, _ width: Int, as type: T.Type) throws -> [T] {
                let array = try tensors.dataset(name).read(type)
                guard array.values.count == N * width else {
                    throw AnalysisError.badReport(
                        path: url.path,
                        detail: "/tensors/\(name) has \(array.values.count) values; expected \(N * width)")
                }
                return array.values
            }
            func doubles(_ name: String, _ width: Int) throws -> [Double] { try values(name, width, as: Double.self) }
            func ints(_ name: String, _ width: Int) throws -> [Int] {
                try values(name, width, as: Int64.self).map(Int.init)
            }
            let gram = try doubles("gram", T * T), baseSq = try doubles("base_sq_norm", 1)
            let sum = try doubles("sum", T), absSum = try doubles("abs_sum", T), maxAbs = try doubles("max_abs", T)
            let elements = try ints("elements", 1), zeros = try ints("zeros", T)
            let nonFinite = try ints("non_finite", T + 1), conflicts = try ints("sign_conflicts", 1)
            guard trimmed.count == N, shapes.values.count == N * rank else {
                throw AnalysisError.badReport(
                    path: url.path, detail: "/tensors datasets disagree on the tensor count \(N)")
            }
            // Reports written before coordinate_stats existed computed every tensor's statistics.
            let computed =
                try tensors.exists("coordinate_stats")
                ? try values("coordinate_stats", 1, as: UInt8.self) : [UInt8](repeating: 1, count: N)
            try checkNotComputed(
                url.path, names: names, computed: computed,
                doubles: [("base_sq_norm", baseSq, 1), ("abs_sum", absSum, T), ("max_abs", maxAbs, T)],
                counts: [("zeros", zeros, T), ("non_finite", nonFinite, T + 1), ("sign_conflicts", conflicts, 1)])
            // Rows without coordinate statistics hold NaN there (checked above); the range checks see 0.
            func checked(_ values: [Double], _ width: Int) -> [Double] {
                values.enumerated().map { computed[$0.offset / width] == 1 ? $0.element : 0 }
            }
            try checkNumbers(
                url.path, names: names, taskNames: taskNames, shapes: shapes.values, rank: rank,
                doubles: [("gram", gram), ("base_sq_norm", checked(baseSq, 1)), ("sum", sum),
                    ("abs_sum", checked(absSum, T)), ("max_abs", checked(maxAbs, T))],
                elements: elements, counts: [("zeros", zeros, T), ("non_finite", nonFinite, T + 1),
                    ("sign_conflicts", conflicts, 1)])
            var list: [TensorStatistics] = []
            for n in 0..<N {
                var moments = TaskVectorMoments(taskCount: T)
                moments.elements = elements[n]
                moments.gram = GramMatrix(count: T, entries: Array(gram[(n * T * T)..<((n + 1) * T * T)]))
                moments.baseSquaredNorm = baseSq[n]
                moments.sum = Array(sum[(n * T)..<((n + 1) * T)])
                moments.absoluteSum = Array(absSum[(n * T)..<((n + 1) * T)])
                moments.maxAbsolute = Array(maxAbs[(n * T)..<((n + 1) * T)])
                moments.zeros = Array(zeros[(n * T)..<((n + 1) * T)])
                moments.nonFinite = Array(nonFinite[(n * (T + 1))..<((n + 1) * (T + 1))])
                moments.signConflicts = conflicts[n]
                if computed[n] == 0 { moments.markCoordinateStatisticsNotComputed() }
                let shape = shapes.values[(n * rank)..<((n + 1) * rank)].filter { $0 >= 0 }.map(Int.init)
                list.append(TensorStatistics(name: names[n], shape: shape, trimmed: trimmed[n] != 0, moments: moments))
            }
            let problemsGroup = try root.group("problems")
            let problemNames = try problemsGroup.dataset("name").readStrings()
            let details = try problemsGroup.dataset("detail_json").readStrings()
            guard problemNames.count == details.count else {
                throw AnalysisError.badReport(
                    path: url.path,
                    detail: "/problems has \(problemNames.count) names but \(details.count) detail_json entries")
            }
            let problems = try zip(problemNames, details).map { name, detail in
                TensorProblem(
                    name: name, kind: try JSONDecoder().decode(TensorProblem.Kind.self, from: Data(detail.utf8)))
            }
            let statistics = TaskVectorStatistics(
                taskNames: taskNames, tensors: list, problems: problems, provenance: provenance)
            // The sum of the per-tensor blocks (what λ, the gate and recommend read) can still overflow.
            try ReportValidation.checkGram(
                statistics.global.moments.gram, taskNames: taskNames, path: url.path,
                dataset: "/tensors/gram (summed over tensors)")
            return statistics
        } catch let error as AnalysisError {
            throw error
        } catch {
            throw AnalysisError.badReport(
                path: url.path, detail: "not a complete MetaMerge analysis report: \(describe(error, url: url))",
                cause: error)
        }
    }

    /// Checks `/tensors/coordinate_stats` (`computed`): each entry 0 or 1, and a row without coordinate statistics
    /// holds NaN in `doubles` (‖θ0‖², Σ|τ|, max|τ|) and 0 in `counts` (zeros, non-finite, sign conflicts), as
    /// ``write(_:to:)`` writes it — a "not computed" row is never read as a number.
    private static func checkNotComputed(
        _ path: String, names: [String], computed: [UInt8], doubles: [(String, [Double], Int)],
        counts: [(String, [Int], Int)]
    ) throws {
        for (n, flag) in computed.enumerated() {
            guard flag != 1 else { continue }
            guard flag == 0 else {
                throw AnalysisError.badReport(
                    path: path, detail: "/tensors/coordinate_stats[\(n)] (\(names[n])) = \(flag); expected 0 or 1")
            }
            for (name, values, width) in doubles where !values[(n * width)..<((n + 1) * width)].allSatisfy(\.isNaN) {
                throw AnalysisError.badReport(
                    path: path,
                    detail: "/tensors/\(name)[\(n)] (\(names[n])) holds a number but coordinate_stats is 0; "
                        + "expected NaN (not computed)")
            }
            for (name, values, width) in counts
            where values[(n * width)..<((n + 1) * width)].contains(where: { $0 != 0 }) {
                throw AnalysisError.badReport(
                    path: path,
                    detail: "/tensors/\(name)[\(n)] (\(names[n])) is not 0 but coordinate_stats is 0; "
                        + "expected 0 (not computed)")
            }
        }
    }

    /// Checks the raw per-tensor numbers of `/tensors` (``ReportValidation``): each Gram block finite, symmetric and
    /// positive semi-definite within rounding; the other sums finite (‖θ0‖², Σ|τ|, max|τ| ≥ 0); counts in 0…elements;
    /// elements ≤ the product of the compared shape.
    private static func checkNumbers(
        _ path: String, names: [String], taskNames: [String], shapes: [Int64], rank: Int,
        doubles: [(String, [Double])], elements: [Int], counts: [(String, [Int], Int)]
    ) throws {
        let T = taskNames.count
        func row(_ width: Int) -> (Int) -> String {
            { index in
                let n = index / width
                let column = width > 1 ? "[\(index % width)]" : ""
                return "[\(n)]\(column) (\(n < names.count ? names[n] : "?"))"
            }
        }
        for (name, values) in doubles {
            if name == "gram" {
                for n in names.indices {
                    try ReportValidation.checkGram(
                        GramMatrix(count: T, entries: Array(values[(n * T * T)..<((n + 1) * T * T)])),
                        taskNames: taskNames, path: path, dataset: "/tensors/gram[\(n)] (\(names[n]))")
                }
                continue
            }
            let width = values.count / max(names.count, 1)
            try ReportValidation.checkValues(
                values, in: name == "sum" ? -Double.greatestFiniteMagnitude...Double.greatestFiniteMagnitude
                    : 0...Double.greatestFiniteMagnitude,
                path: path, dataset: "/tensors/\(name)", row: row(width))
        }
        for n in names.indices {
            let dimensions = shapes[(n * rank)..<((n + 1) * rank)]
            let kept = dimensions.prefix { $0 >= 0 }
            guard kept.count == dimensions.filter({ $0 >= 0 }).count, dimensions.allSatisfy({ $0 >= -1 }) else {
                throw AnalysisError.badReport(
                    path: path,
                    detail: "/tensors/shape[\(n)] (\(names[n])) = \(Array(dimensions)); expected sizes ≥ 0 padded "
                        + "with −1 at the end")
            }
            var product = 1
            for size in kept {
                let (next, overflow) = product.multipliedReportingOverflow(by: Int(size))
                product = overflow ? Int.max : next
            }
            guard (0...product).contains(elements[n]) else {
                throw AnalysisError.badReport(
                    path: path,
                    detail: "/tensors/elements[\(n)] (\(names[n])) = \(elements[n]); expected 0…\(product), the "
                        + "product of its shape \(Array(kept))")
            }
        }
        for (name, values, width) in counts {
            try ReportValidation.checkCounts(
                values, path: path, dataset: "/tensors/\(name)", row: row(width),
                limit: { name == "non_finite" ? Int.max : elements[$0 / width] })
        }
    }

    /// Opens `url` and checks it is a MetaMerge report of a schema this build reads.
    package static func openReport(_ url: URL) throws -> HDF5File {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw AnalysisError.badReport(path: url.path, detail: "no such file")
        }
        let file: HDF5File
        do {
            file = try HDF5File.open(at: url)
        } catch {
            throw AnalysisError.badReport(
                path: url.path, detail: "not a readable HDF5 file (\(describe(error, url: url)))", cause: error)
        }
        let notAReport = "an HDF5 file but not a MetaMerge report (no format/schema_version attributes on /)"
        let format: String
        let version: Int64
        do {
            format = try file.root.attribute("format", as: String.self)
            version = try file.root.attribute("schema_version", as: Int64.self)
        } catch {
            throw AnalysisError.badReport(path: url.path, detail: notAReport, cause: error)
        }
        guard format == "metamerge-report" else { throw AnalysisError.badReport(path: url.path, detail: notAReport) }
        guard version <= schemaVersion else {
            throw AnalysisError.newerSchema(path: url.path, found: Int(version), supported: schemaVersion)
        }
        return file
    }

    /// Refuses a report destination that would destroy something this tool did not write (see `OutputPath`):
    /// an empty path, a directory, an input of the command or an ancestor of one, an existing file that is not a
    /// MetaMerge report. An existing report is replaced atomically when the new one is complete.
    public static func checkDestination(_ url: URL, inputs: [URL]) throws {
        try OutputPath.checkFileDestination(url, inputs: inputs, what: "the report path (-o)", kind: "MetaMerge report")
        {
            guard let file = try? openReport($0) else { return false }
            try? file.close()
            return true
        }
    }

    /// The analysis in the report at `url`, or `nil` when there is no file there or the report holds no analysis
    /// (`/tensors`: a probe alone). ``FamilyLambdas/resolve(_:report:threads:progress:)`` uses it to avoid a pass
    /// when the probe or the sweep writes into an analysis report.
    ///
    /// - Throws: ``AnalysisError`` when the file at `url` is not a readable MetaMerge report, or its analysis fails
    ///   the reader's checks (``read(from:)``, naming the dataset): a report the user named is never silently
    ///   ignored because it is damaged.
    static func readAnalysisIfPresent(_ url: URL) throws -> TaskVectorStatistics? {
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        let file = try openReport(url)
        let hasAnalysis: Bool
        do {
            hasAnalysis = try file.root.exists("tensors")
            try file.close()
        } catch {
            try? file.close()
            throw AnalysisError.badReport(
                path: url.path, detail: "cannot be read (\(describe(error, url: url)))", cause: error)
        }
        guard hasAnalysis else { return nil }
        return try read(from: url)
    }

    /// The inputs of a family: model directories and their weight files, LoRA adapter directories and their files.
    public static func inputs(of family: ModelFamily) -> [URL] {
        family.checkpoints.flatMap { [$0.directory] + $0.files.map(\.url) }
            + family.tasks.compactMap(\.adapter).flatMap { [$0.directory, $0.file.url] }
    }

    /// Builds the report in memory (empty, or a copy of `original`), lets `body` fill it, writes it inside a marked
    /// temporary sibling of `url` (`OutputPath.makeTemporary(for:)`) and renames it over `url` (`rename(2)`:
    /// atomic, an earlier report survives until replaced); on failure — or SIGINT / SIGTERM, through
    /// `TemporaryOutputs` — removes the temporary and leaves `url` as it was. What is at `url` is checked again just
    /// before the rename (``checkDestination(_:inputs:)`` ran long before): only a MetaMerge report is replaced.
    package static func writeAtomically(
        to url: URL, copying original: URL? = nil, _ body: (HDF5File) throws -> Void
    ) throws {
        // The report is built in memory and written with ordinary file I/O: a full disk is then one clear error
        // (HDF5 failing to write its own file leaves the library in a state that crashes at exit).
        let image: Data
        do {
            let file =
                try original.map { try HDF5File.openInMemory(copying: $0) } ?? HDF5File.createInMemory(name: url.path)
            try body(file)
            image = try file.image()
            try file.close()
        } catch let error as AnalysisError {
            throw error
        } catch {
            throw AnalysisError.writeFailed(path: url.path, detail: "\(error)", cause: error)
        }
        _ = OutputPath.removeStalePartials(of: url)
        let container: URL
        do { container = try OutputPath.makeTemporary(for: url) } catch let error as CheckpointError {
            // The system's error (a missing directory, no permission) is the cause worth keeping.
            throw AnalysisError.writeFailed(path: url.path, detail: error.message, cause: error.cause ?? error)
        }
        let temporary = OutputPath.item(in: container)
        defer {
            TemporaryOutputs.unregister(container)
            try? FileManager.default.removeItem(at: container)
        }
        do {
            try image.write(to: temporary)
            try TemporaryOutputs.publish(container) {
                if FileManager.default.fileExists(atPath: url.path) {
                    guard let existing = try? openReport(url) else {
                        throw AnalysisError.writeFailed(
                            path: url.path,
                            detail: "something that is not a MetaMerge report appeared there while this ran; it was "
                                + "left as it is and this result was discarded")
                    }
                    try? existing.close()
                }
                guard rename(temporary.path, url.path) == 0 else {
                    throw AnalysisError.writeFailed(
                        path: url.path,
                        detail: "cannot rename the finished report into place: \(String(cString: strerror(errno)))")
                }
            }
        } catch {
            if let error = error as? AnalysisError { throw error }
            throw AnalysisError.writeFailed(path: url.path, detail: describe(error, url: temporary), cause: error)
        }
    }

    /// A Foundation, decoding or HDF5 error (met on `url`) as one readable phrase (no `NSCocoaErrorDomain` dumps).
    static func describe(_ error: Error, url: URL) -> String {
        if error is CocoaError || type(of: error) == NSError.self { return FileErrorReason.reason(error, url: url) }
        if let error = error as? DecodingError {
            switch error {
            case .dataCorrupted(let context), .keyNotFound(_, let context), .typeMismatch(_, let context),
                .valueNotFound(_, let context):
                return "JSON that does not decode (\(context.debugDescription))"
            @unknown default:
                return "JSON that does not decode"
            }
        }
        return "\(error)"
    }
}

extension TensorGroup {
    /// The layer index of a report label `layers.<i>`.
    static func layerIndex(fromLabel label: String) -> Int? {
        label.hasPrefix("layers.") ? Int(label.dropFirst("layers.".count)) : nil
    }
}

extension TensorProblem.Kind {
    /// `missing`, `shape_mismatch`, `vocabulary_mismatch`, `not_floating_point`.
    public var label: String {
        switch self {
        case .missing: "missing"
        case .shapeMismatch: "shape_mismatch"
        case .vocabularyMismatch: "vocabulary_mismatch"
        case .notFloatingPoint: "not_floating_point"
        }
    }
}
