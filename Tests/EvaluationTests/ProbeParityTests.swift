import Checkpoints
import Evaluation
import Foundation
import TestSupport
import Testing

/// The probe's per-prompt metrics on a batch of ragged prompts against transformers: every point computed by
/// transformers (float32, each prompt on its own) and the metrics taken in float64 by
/// scripts/fixtures/make_probe_references.py (Tests/Fixtures/transformer/probe-references.json).
///
/// Tolerance: the logits agree with transformers to ~1e-5 absolute (ReferenceParityTests allows 1e-4); the metrics
/// are ratios of norms of differences of O(1) logit vectors, so they move by ~1e-6 relative (measured ≤ 2.5e-6):
/// 1e-4 relative. The Taylor error divides logit differences by 2h = 0.02, multiplying rounding by 50 (measured
/// ≤ 4.7e-5): 1e-3 relative there.
@Suite("Probe metrics match transformers")
struct ProbeParityTests {
    struct Reference: Decodable {
        let set: String
        let tasks: [String]
        let prompts: [[Int]]
        let alphas: [Double]
        let scales: [Double]
        let lambdas: [Double]
        let taylor_step: Double
        let chord_residual: [[Double]]
        let taylor_error: [[Double]]
        let r_squared: [[Double]]
        let additivity_gap: [[Double]]
        let merged_gap: [[Double]]
    }

    struct File: Decodable { let sets: [Reference] }

    static let references: [Reference] = {
        let url = RepositoryPaths.fixtures.appendingPathComponent("transformer/probe-references.json")
        guard let data = try? Data(contentsOf: url), let file = try? JSONDecoder().decode(File.self, from: data) else {
            return []
        }
        return file.sets
    }()

    @Test(arguments: ["llama-bias", "qwen2-gqa"])
    func raggedBatchMatchesTransformers(set: String) throws {
        let reference = try #require(Self.references.first { $0.set == set }, "probe-references.json lacks \(set)")
        #expect(Set(reference.prompts.map(\.count)).count == reference.prompts.count, "the prompts should be ragged")
        let directory = RepositoryPaths.fixtures.appendingPathComponent("transformer/\(set)")
        let family = try ModelFamily(
            base: Checkpoint(directory: directory.appendingPathComponent("base")),
            tasks: try reference.tasks.map {
                .init(name: $0, checkpoint: try Checkpoint(directory: directory.appendingPathComponent($0)))
            })
        let probe = LinearityProbe(
            alphas: reference.alphas, scales: reference.scales, taylorStep: reference.taylor_step)
        let result = try probe.run(family, prompts: reference.prompts, lambdas: reference.lambdas)
        func check(_ name: String, _ ours: [[Double]], _ theirs: [[Double]], relative: Double) {
            #expect(
                ours.count == theirs.count && zip(ours, theirs).allSatisfy { $0.count == $1.count },
                "\(set) \(name) shape")
            var worst = 0.0
            for (row, (a, b)) in zip(ours, theirs).enumerated() {
                for (q, (x, y)) in zip(a, b).enumerated() {
                    let error = abs(x - y) / abs(y)
                    worst = max(worst, error.isNaN ? .infinity : error)
                    #expect(error <= relative, "\(set) \(name) row \(row) prompt \(q): \(x) vs transformers \(y)")
                }
            }
            print("probe parity \(set) \(name): largest relative difference \(worst)")
        }
        check("chord residual", result.chordResidual, reference.chord_residual, relative: 1e-4)
        check("Taylor error", result.taylorError, reference.taylor_error, relative: 1e-3)
        check("R²", result.rSquared, reference.r_squared, relative: 1e-4)
        check("additivity gap", result.additivityGap, reference.additivity_gap, relative: 1e-4)
        check("merged gap", result.mergedGap, reference.merged_gap, relative: 1e-4)
    }
}
