import Checkpoints
import Foundation
import Merging
import SafeTensors
import Statistics
import TestSupport
import Testing

/// MetaGPT against the independent NumPy float64 implementation `scripts/fixtures/metagpt_reference.py`
/// (fixtures in `Tests/Fixtures/mergekit/metagpt/`): λ to 1e-9 relative, merged tensors to Float32 rounding.
@Suite("MetaGPT")
struct MetaGPTTests {
    struct Expected: Decodable {
        let tasks: [String]
        let squared_norms: [Double]
        let lambdas_global: [Double]
        let lambdas_per_tensor: [String: [Double]]
    }

    static let root = RepositoryPaths.fixtures.appendingPathComponent("mergekit/metagpt")

    func expected() throws -> Expected {
        try JSONDecoder().decode(
            Expected.self, from: Data(contentsOf: Self.root.appendingPathComponent("expected.json")))
    }

    func reference(_ name: String) throws -> [String: [Float]] {
        let file = try SafeTensorsFile(url: Self.root.appendingPathComponent("\(name).safetensors"))
        var result: [String: [Float]] = [:]
        for info in file.tensors {
            var values = [Float](repeating: 0, count: info.elementCount)
            try values.withUnsafeMutableBufferPointer { try file.readFloat32(info.name, into: $0) }
            result[info.name] = values
        }
        return result
    }

    func relative(_ a: Double, _ b: Double) -> Double { abs(a - b) / max(abs(b), .leastNormalMagnitude) }

    /// Runs a reference config; checks every tensor within 1 ulp of the float64 result's rounding and returns the
    /// bit-identical fraction.
    func mergeAndCompare(_ name: String) throws -> (PreparedMerge, Double) {
        let configuration = try MergeConfiguration.load(contentsOf: Self.root.appendingPathComponent("\(name).yml"))
        let mergeConfigured = try Merge(configuration: configuration, options: MergeOptions(threads: 2))
        let merge = try mergeConfigured.prepare()
        let output = try makeTemporaryDirectory("metagpt-\(name)").appendingPathComponent("out")
        try merge.write(to: output)
        let ours = try readModel(output)
        let reference = try reference(name)
        var identical = 0, total = 0
        for (tensor, expected) in reference {
            let values = try #require(ours[tensor], "missing \(tensor)")
            for (a, b) in zip(values, expected) {
                total += 1
                if a.bitPattern == b.bitPattern { identical += 1 }
                #expect(abs(a - b) <= b.ulp, "\(name) \(tensor): \(a) vs \(b)")
            }
        }
        let fraction = Double(identical) / Double(total)
        print(
            String(
                format: "metagpt %@: bit-identical to the float64 reference rounded to float32: %.4f%% of %d", name,
                100 * fraction, total))
        return (merge, fraction)
    }

    @Test func globalLambdasAndMergedTensorsMatchTheFloat64Reference() throws {
        let expected = try expected()
        let (merge, _) = try mergeAndCompare("metagpt_global")
        let lambdas = try #require(merge.plan.globalLambdas)
        let norms = try #require(merge.plan.lambdaNorms)
        #expect(merge.plan.taskNames.map { URL(fileURLWithPath: $0).lastPathComponent } == expected.tasks)
        for k in expected.tasks.indices {
            #expect(
                relative(lambdas[k], expected.lambdas_global[k]) <= 1e-9,
                "λ[\(k)] \(lambdas[k]) vs \(expected.lambdas_global[k])")
            #expect(relative(norms[k], expected.squared_norms[k]) <= 1e-9)
        }
        #expect(abs(lambdas.reduce(0, +) - 1) <= 1e-12)
        print("metagpt λ (global): \(lambdas) vs reference \(expected.lambdas_global)")
    }

    @Test func perTensorLambdasMatchTheFloat64Reference() throws {
        let expected = try expected()
        let (merge, _) = try mergeAndCompare("metagpt_per_tensor")
        #expect(merge.plan.globalLambdas == nil)
        for tensor in merge.plan.tensors {
            let reference = try #require(expected.lambdas_per_tensor[tensor.name])
            let lambdas = try #require(tensor.lambdas)
            for k in reference.indices {
                #expect(relative(lambdas[k], reference[k]) <= 1e-9, "\(tensor.name) λ[\(k)]")
            }
        }
    }

    @Test func sparsifiedNormSourceUsesTheTrimmedVectors() throws {
        // With density 1 nothing is trimmed: the sparsified λ equal the original ones, up to the Float32 rounding of
        // δ = θₜ − θ₀ that the merge kernels (and so the sparsified norms) use, where the statistics pass forms δ in
        // Float64.
        let family = try SyntheticFamily.make("metagpt-sparsified", tasks: 2)
        func lambdas(_ extra: String) throws -> [Double] {
            let config = try family.configuration(
                "models: [{model: ./t1}, {model: ./t2}]\nbase_model: ./base\nmerge_method: metagpt_ties\nparameters: "
                    + "{\(extra)}\n",
                named: "m-\(abs(extra.hashValue)).yml")
            let mergeConfigured = try Merge(configuration: config, options: MergeOptions(threads: 1))
            let merge = try mergeConfigured.prepare()
            return try #require(merge.plan.globalLambdas)
        }
        let original = try lambdas("density: 1")
        let sparsifiedFull = try lambdas("density: 1, norm_source: sparsified")
        for k in 0..<2 { #expect(relative(sparsifiedFull[k], original[k]) <= 1e-7) }
        // Trimmed to 30 %, the λ follow the kept mass and differ from the original ones.
        let trimmed = try lambdas("density: 0.3, norm_source: sparsified")
        #expect(abs(trimmed.reduce(0, +) - 1) <= 1e-12)
        #expect(trimmed != original)
    }

    @Test func statisticsReportGivesTheIdenticalModel() throws {
        let family = try SyntheticFamily.make("metagpt-report", tasks: 2)
        let yaml = "models: [{model: ./t1}, {model: ./t2}]\nbase_model: ./base\nmerge_method: metagpt\n"
        let config = try family.configuration(yaml)
        // The report `metamerge analyze` would write for these models (tasks in the other order, to check matching).
        let base = try Checkpoint(directory: family.root.appendingPathComponent("base"))
        let tasks = try ["t2", "t1"].map {
            ModelFamily.Member(name: $0, checkpoint: try Checkpoint(directory: family.root.appendingPathComponent($0)))
        }
        let report = family.root.appendingPathComponent("stats.h5")
        try AnalysisReport.write(StatisticsPass(threads: 1).run(ModelFamily(base: base, tasks: tasks)), to: report)

        let inProcessConfigured = try Merge(configuration: config, options: MergeOptions(threads: 2))
        let inProcess = try inProcessConfigured.prepare()
        try inProcess.write(to: family.output("a"))
        let fromReportConfigured = try Merge(
            configuration: config, options: MergeOptions(threads: 2, statisticsReport: report))
        let fromReport = try fromReportConfigured.prepare()
        try fromReport.write(to: family.output("b"))
        #expect(fromReport.plan.globalLambdas == inProcess.plan.globalLambdas)
        let a = try Data(contentsOf: family.output("a").appendingPathComponent("model.safetensors"))
        let b = try Data(contentsOf: family.output("b").appendingPathComponent("model.safetensors"))
        #expect(a == b)

        // A report of other models is refused, naming the mismatch.
        let other = try SyntheticFamily.make(
            "metagpt-other-report", tasks: 2,
            delta: { k, name, n in
                Random.normals(seed: name.hashValue64 &+ 5, n, scale: 0.07 * Float(k))
            })
        let otherBase = try Checkpoint(directory: other.root.appendingPathComponent("base"))
        let otherTasks = try ["t1", "t2"].map {
            ModelFamily.Member(name: $0, checkpoint: try Checkpoint(directory: other.root.appendingPathComponent($0)))
        }
        let wrong = family.root.appendingPathComponent("wrong.h5")
        try AnalysisReport.write(
            StatisticsPass(threads: 1).run(ModelFamily(base: otherBase, tasks: otherTasks)), to: wrong)
        let refused = try Merge(configuration: config, options: MergeOptions(statisticsReport: wrong))
        let error = #expect(throws: MergeConfigError.self) { try refused.prepare() }
        // The other family's files differ in content (tasks) and modification time (base): either is named.
        #expect(error?.description.contains("re-run `metamerge analyze`") == true)
        #expect(
            error?.description.contains("has no statistics for model './t1'") == true
                || error?.description.contains("another base model") == true)
    }
}
