import Checkpoints
import Foundation
import Merging
import SafeTensors
import Statistics
import TestSupport
import Testing

/// MetaGPT without a gate computes λ from a pass that sums only ‖τₜ‖²; `metamerge analyze` (and a merge with a
/// gate) from the whole statistics pass. The λ a merge reports must be the λ the report holds, bit for bit: both
/// passes are run here on one family and their sums compared exactly.
@Suite("MetaGPT norms pass")
struct SquaredNormsPassTests {
    /// Tensors longer than a statistics chunk (2^20) and not multiples of the kernel's 4-lane step (hidden 1025), a
    /// base infinity and a task NaN (blocks that take the checked path), BF16 storage (decoded) and F32.
    static func family(_ dtype: DType) throws -> SyntheticFamily {
        let shape = SyntheticFamily.Shape(hidden: 1025, intermediate: 1024, layers: 1, vocab: 10)
        return try SyntheticFamily.make(
            "norms-\(dtype.rawValue)", shape: shape, tasks: 2, dtype: dtype,
            base: { name, count in
                var values = Random.normals(seed: name.hashValue64, count, scale: 0.5)
                if name == "model.layers.0.mlp.up_proj.weight" { values[5] = .infinity }
                return values
            },
            delta: { task, name, count in
                var values = Random.normals(seed: name.hashValue64 &+ UInt64(task) &* 7919, count, scale: 0.05)
                if task == 2, name == "model.layers.0.self_attn.q_proj.weight" { values[20_000] = .nan }
                return values
            })
    }

    func statistics(_ family: SyntheticFamily) throws -> TaskVectorStatistics {
        let base = try Checkpoint(directory: family.root.appendingPathComponent("base"))
        let tasks = try ["t1", "t2"].map {
            ModelFamily.Member(name: $0, checkpoint: try Checkpoint(directory: family.root.appendingPathComponent($0)))
        }
        return try StatisticsPass(threads: 2).run(ModelFamily(base: base, tasks: tasks))
    }

    @Test("global λ and ‖τₜ‖² equal the statistics pass's, bit for bit", arguments: [DType.bf16, .f32])
    func globalMatchesStatistics(_ dtype: DType) throws {
        let family = try Self.family(dtype)
        defer { try? FileManager.default.removeItem(at: family.root) }
        let config = try family.configuration(
            "models:\n  - model: ./t1\n  - model: ./t2\nbase_model: ./base\nmerge_method: metagpt\n")
        let prepared = try Merge(configuration: config, options: MergeOptions(threads: 2)).prepare()
        #expect(prepared.statistics == nil, "no gate: only the norms are computed")
        let reference = try statistics(family).global.moments.gram
        let norms = try #require(prepared.plan.lambdaNorms)
        #expect(norms.map(\.bitPattern) == reference.squaredNorms.map(\.bitPattern))
        #expect(prepared.plan.globalLambdas?.map(\.bitPattern) == reference.metagptLambdas.map(\.bitPattern))
    }

    @Test("per-tensor λ equal the statistics pass's, bit for bit")
    func perTensorMatchesStatistics() throws {
        let family = try Self.family(.bf16)
        defer { try? FileManager.default.removeItem(at: family.root) }
        let config = try family.configuration(
            "models:\n  - model: ./t1\n  - model: ./t2\nbase_model: ./base\nmerge_method: metagpt\nparameters:\n  "
            + "granularity: per_tensor\n"
        )
        let prepared = try Merge(configuration: config, options: MergeOptions(threads: 1)).prepare()
        let reference = Dictionary(uniqueKeysWithValues: try statistics(family).tensors.map { ($0.name, $0) })
        var compared = 0
        for tensor in prepared.plan.tensors where !tensor.isCopied {
            let expected = try #require(reference[tensor.name]).moments.gram.metagptLambdas
            #expect(tensor.lambdas?.map(\.bitPattern) == expected.map(\.bitPattern), "\(tensor.name)")
            compared += 1
        }
        let shape = SyntheticFamily.Shape(hidden: 1025, intermediate: 1024, layers: 1, vocab: 10)
        #expect(compared == SyntheticFamily.tensors(shape).count)
    }
}
