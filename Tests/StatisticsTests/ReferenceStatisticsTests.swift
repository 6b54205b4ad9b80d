import Checkpoints
import Foundation
import Statistics
import TestSupport
import Testing

/// The statistics of the bundled family against the NumPy float64 reference written by
/// `scripts/fixtures/stats_reference.py` (Tests/Fixtures/analysis/tiny-family-stats.json).
@Suite("Statistics of the bundled family match NumPy float64")
struct ReferenceStatisticsTests {
    static let tolerance = 1e-9

    struct Figures: Decodable {
        let elements: Int
        let gram: [[Double]]
        let cosine: [[Double?]]
        let norm: [Double]
        let base_norm: Double
        let relative_norm: [Double]
        let metagpt_lambda: [Double]
        let mean_abs: [Double]
        let std: [Double]
        let max_abs: [Double]
        let zero_fraction: [Double]
        let sign_conflict_rate: Double
    }

    struct Reference: Decodable {
        let tasks: [String]
        let tensors: [String: Figures]
        let groups: [String: Figures]
        let global: Figures
        let skipped: [String]
    }

    func expectClose(_ a: Double, _ b: Double, _ what: @autoclosure () -> String) {
        let error = abs(a - b) / max(abs(b), 1e-300)
        #expect(error <= Self.tolerance || (a == 0 && b == 0), "\(what()): \(a) vs \(b), relative error \(error)")
    }

    func compare(_ moments: TaskVectorMoments, _ figures: Figures, _ label: String) {
        #expect(moments.elements == figures.elements, "\(label) elements")
        let T = figures.norm.count
        for i in 0..<T {
            for j in 0..<T {
                expectClose(moments.gram[i, j], figures.gram[i][j], "\(label) gram[\(i)][\(j)]")
                if let cosine = figures.cosine[i][j] {
                    expectClose(moments.gram.cosine(i, j) ?? .nan, cosine, "\(label) cosine[\(i)][\(j)]")
                }
            }
        }
        for t in 0..<T {
            expectClose(moments.norms[t], figures.norm[t], "\(label) norm")
            expectClose(moments.relativeNorms[t], figures.relative_norm[t], "\(label) relative norm")
            expectClose(moments.gram.metagptLambdas[t], figures.metagpt_lambda[t], "\(label) λ")
            expectClose(moments.meanAbsolute[t], figures.mean_abs[t], "\(label) mean |τ|")
            expectClose(moments.standardDeviation[t], figures.std[t], "\(label) std")
            expectClose(moments.maxAbsolute[t], figures.max_abs[t], "\(label) max |τ|")
            expectClose(moments.zeroFraction[t], figures.zero_fraction[t], "\(label) zero fraction")
        }
        expectClose(moments.baseNorm, figures.base_norm, "\(label) ‖θ0‖")
        expectClose(moments.signConflictRate, figures.sign_conflict_rate, "\(label) sign conflicts")
    }

    @Test func matchesNumPy() throws {
        let data = try Data(
            contentsOf: RepositoryPaths.fixtures.appendingPathComponent("analysis/tiny-family-stats.json"))
        let reference = try JSONDecoder().decode(Reference.self, from: data)
        let family = try FamilySpec(
            base: RepositoryPaths.tinyFamily.appendingPathComponent("base"),
            tasks: reference.tasks.map { ($0, RepositoryPaths.tinyFamily.appendingPathComponent($0)) }
        ).open()
        let statistics = try StatisticsPass(threads: 2, chunkElements: 4096).run(family)
        #expect(Set(statistics.tensors.map(\.name)) == Set(reference.tensors.keys))
        for tensor in statistics.tensors {
            let figures = try #require(reference.tensors[tensor.name])
            compare(tensor.moments, figures, tensor.name)
        }
        for group in statistics.groups {
            compare(group.moments, try #require(reference.groups[group.label]), group.label)
        }
        compare(statistics.global.moments, reference.global, "global")
        #expect(statistics.skippedTensors.sorted() == reference.skipped)
    }
}
