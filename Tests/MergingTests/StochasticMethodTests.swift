import Foundation
import Merging
import TestSupport
import Testing

/// DARE and DELLA: the kept fraction is the density, L1 rescaling preserves ‖δ‖₁, and a seed fixes the result
/// whatever the thread count or chunking.
///
/// The family has a zero base and one task model, so the merged tensor is exactly the sparsified delta.
@Suite("Stochastic methods")
struct StochasticMethodTests {
    static let shape = SyntheticFamily.Shape(hidden: 64, intermediate: 128, layers: 1, vocab: 64)

    static func family(_ label: String) throws -> SyntheticFamily {
        try SyntheticFamily.make(
            label, shape: shape, tasks: 1, base: { _, count in [Float](repeating: 0, count: count) },
            delta: { _, name, count in
                // Nonzero deltas (|δ| ≥ 0.01) so every element's keep decision is visible.
                Random.normals(seed: name.hashValue64, count, scale: 1).map { $0 >= 0 ? $0 + 0.01 : $0 - 0.01 }
            })
    }

    func merge(
        _ family: SyntheticFamily, _ yaml: String, seed: UInt64 = 7, threads: Int = 2, chunk: Int = 1 << 20,
        name: String = "out"
    )
        throws -> [String: [Float]]
    {
        let config = try family.configuration(yaml, named: "\(name).yml")
        let mergeConfigured = try Merge(
            configuration: config, options: MergeOptions(randomSeed: seed, threads: threads, chunkElements: chunk))
        let merge = try mergeConfigured.prepare()
        let output = family.output(name)
        try merge.write(to: output)
        return try readModel(output)
    }

    /// (kept, total, ‖δ‖₁, ‖out‖₁) over the matrices.
    func tally(
        _ merged: [String: [Float]], _ task: [String: [Float]]
    ) -> (kept: Int, total: Int, l1In: Double, l1Out: Double) {
        var kept = 0, total = 0
        var l1In = 0.0, l1Out = 0.0
        for (name, values) in merged where name.hasSuffix("proj.weight") {
            let delta = task[name]!
            total += values.count
            kept += values.filter { $0 != 0 }.count
            l1In += delta.reduce(0) { $0 + Double(abs($1)) }
            l1Out += values.reduce(0) { $0 + Double(abs($1)) }
        }
        return (kept, total, l1In, l1Out)
    }

    @Test(arguments: [0.1, 0.5, 0.9])
    func dareKeepsTheDensityAndMatchesTheL1Norm(_ density: Double) throws {
        let family = try Self.family("dare-\(density)")
        let task = try readModel(family.root.appendingPathComponent("t1"))
        let yaml =
            "models: [{model: ./t1, parameters: {weight: 1, density: \(density)}}]\nbase_model: ./base\nmerge_method: "
            + "dare_linear\n"
        let merged = try merge(family, yaml)
        let (kept, total, l1In, l1Out) = tally(merged, task)
        let fraction = Double(kept) / Double(total)
        let sigma = (density * (1 - density) / Double(total)).squareRoot()
        print(
            String(
                format: "dare density %.2f: kept %.5f of %d (5σ = %.5f), L1 out/in = %.7f", density, fraction, total,
                5 * sigma, l1Out / l1In))
        #expect(abs(fraction - density) <= 5 * sigma)
        // Each tensor is rescaled to its own L1 norm, so the sums agree to Float32 rounding.
        #expect(abs(l1Out / l1In - 1) <= 1e-5)

        // Without rescale the kept elements are the original deltas, untouched.
        let plain = try merge(
            family,
            yaml.replacingOccurrences(
                of: "merge_method: dare_linear", with: "merge_method: dare_linear\nparameters: {rescale: false}"),
            name: "plain")
        for (name, values) in plain where name.hasSuffix("proj.weight") {
            for (value, delta) in zip(values, task[name]!) where value != 0 { #expect(value == delta) }
        }
    }

    @Test func daresDrawsDependOnlyOnTheSeed() throws {
        let family = try Self.family("dare-seed")
        let yaml =
            "models: [{model: ./t1, parameters: {weight: 1, density: 0.5}}]\nbase_model: ./base\nmerge_method: "
            + "dare_ties\n"
        let reference = try merge(family, yaml, seed: 11, threads: 1, name: "a")
        let otherThreads = try merge(family, yaml, seed: 11, threads: 3, chunk: 1000, name: "b")
        let otherSeed = try merge(family, yaml, seed: 12, threads: 1, name: "c")
        #expect(reference == otherThreads)
        #expect(reference != otherSeed)
    }

    @Test func dellaKeepsTheDensityFavoursLargeMagnitudesAndMatchesTheL1Norm() throws {
        let family = try Self.family("della")
        let task = try readModel(family.root.appendingPathComponent("t1"))
        let yaml =
            "models: [{model: ./t1, parameters: {weight: 1, density: 0.5, epsilon: 0.2}}]\nbase_model: "
            + "./base\nmerge_method: della_linear\n"
        let merged = try merge(family, yaml)
        let (kept, total, l1In, l1Out) = tally(merged, task)
        let fraction = Double(kept) / Double(total)
        // The keep probability averages density over the ranks of a row.
        #expect(abs(fraction - 0.5) <= 5 * (0.25 / Double(total)).squareRoot() + 0.002)
        #expect(abs(l1Out / l1In - 1) <= 1e-5)

        // Within each row, the largest quarter of |δ| is kept with p ≈ 0.65, the smallest with p ≈ 0.35.
        var high = (0, 0), low = (0, 0)
        for (name, values) in merged where name.hasSuffix("proj.weight") {
            let delta = task[name]!
            let columns = name.contains("down_proj") ? Self.shape.intermediate : Self.shape.hidden
            for row in stride(from: 0, to: delta.count, by: columns) {
                let order = (row..<(row + columns)).sorted { abs(delta[$0]) < abs(delta[$1]) }
                for i in order.prefix(columns / 4) { low.0 += values[i] != 0 ? 1 : 0; low.1 += 1 }
                for i in order.suffix(columns / 4) { high.0 += values[i] != 0 ? 1 : 0; high.1 += 1 }
            }
        }
        let pHigh = Double(high.0) / Double(high.1), pLow = Double(low.0) / Double(low.1)
        print(
            String(
                format: "della: kept %.5f of %d, top quarter %.3f, bottom quarter %.3f, L1 out/in %.7f", fraction,
                total, pHigh, pLow, l1Out / l1In))
        #expect(abs(pHigh - 0.65) < 0.03)
        #expect(abs(pLow - 0.35) < 0.03)

        let again = try merge(family, yaml, threads: 1, chunk: 4096, name: "again")
        #expect(again == merged)
    }

    @Test func dellaRefusesAnEpsilonOutsideTheDensity() throws {
        let family = try SyntheticFamily.make("della-epsilon", tasks: 1)
        let config = try family.configuration(
            "models: [{model: ./t1, parameters: {weight: 1, density: 0.1, epsilon: 0.2}}]\nbase_model: "
                + "./base\nmerge_method: della\n"
        )
        let mergeConfigured = try Merge(configuration: config)
        let merge = try mergeConfigured.prepare()
        let error = #expect(throws: MergeConfigError.self) { try merge.write(to: family.output()) }
        #expect(error?.description.contains("epsilon") == true)
        #expect(!FileManager.default.fileExists(atPath: family.output().path))
    }
}

/// TIES' top-k and Breadcrumbs' cuts among equal magnitudes: the stable order (lower index first), the same
/// whatever the chunking — a case whose answer is computed here by sorting.
@Suite("Magnitude cuts among equal |δ|")
struct MagnitudeTieTests {
    /// A zero base and one task whose deltas take 7 magnitudes only, so every cut falls among ties.
    static func family() throws -> SyntheticFamily {
        try SyntheticFamily.make(
            "ties", shape: .init(hidden: 16, intermediate: 32, layers: 1, vocab: 20), tasks: 1,
            base: { _, n in [Float](repeating: 0, count: n) },
            delta: { _, name, n in
                var random = Random(seed: name.hashValue64)
                return (0..<n).map { _ in Float(Int(random.next() % 7) + 1) * (random.next() % 2 == 0 ? 0.25 : -0.25) }
            })
    }

    /// The kept positions of the `keep` largest |δ| in stable order (ties: lower index first).
    static func topK(_ values: [Float], _ keep: Int) -> Set<Int> {
        Set(
            values.indices.sorted { abs(values[$0]) != abs(values[$1]) ? abs(values[$0]) > abs(values[$1]) : $0 < $1 }
                .prefix(keep))
    }

    @Test(arguments: [1 << 20, 37])
    func tiesKeepTheLowerIndicesFirst(chunk: Int) throws {
        let family = try Self.family()
        let config = try family.configuration(
            "models: [{model: ./t1, parameters: {weight: 1, density: 0.45}}]\nbase_model: ./base\nmerge_method: ties\n",
            named: "ties-\(chunk).yml")
        let mergeConfigured = try Merge(configuration: config, options: MergeOptions(threads: 3, chunkElements: chunk))
        let merge = try mergeConfigured.prepare()
        try merge.write(to: family.output("out-\(chunk)"))
        let merged = try readModel(family.output("out-\(chunk)"))
        let task = try readModel(family.root.appendingPathComponent("t1"))
        for (name, values) in merged {
            let delta = task[name]!
            let expected = Self.topK(delta, max(1, Int(0.45 * Double(delta.count))))
            let kept = Set(values.indices.filter { values[$0] != 0 })
            #expect(kept == expected, "\(name): kept set differs from the stable top-k")
            for i in kept { #expect(values[i] == delta[i]) }
        }
    }

    @Test func breadcrumbsCutsBothEndsInStableOrder() throws {
        let family = try Self.family()
        let config = try family.configuration(
            "models: [{model: ./t1, parameters: {weight: 1, density: 0.6, gamma: 0.1}}]\nbase_model: "
                + "./base\nmerge_method: breadcrumbs\n"
        )
        let mergeConfigured = try Merge(configuration: config, options: MergeOptions(threads: 2, chunkElements: 50))
        let merge = try mergeConfigured.prepare()
        try merge.write(to: family.output())
        let merged = try readModel(family.output())
        let task = try readModel(family.root.appendingPathComponent("t1"))
        for (name, values) in merged {
            let delta = task[name]!
            let n = delta.count
            let keep = Int(0.6 * Double(n)), top = Int(0.1 * Double(n)), bottom = max(0, n - keep - top)
            let ascending = delta.indices.sorted {
                abs(delta[$0]) != abs(delta[$1]) ? abs(delta[$0]) < abs(delta[$1]) : $0 < $1
            }
            let expected = Set(ascending[bottom..<(bottom + keep)])
            let kept = Set(values.indices.filter { values[$0] != 0 })
            #expect(
                kept == expected,
                "\(name): kept set differs from positions [\(bottom), \(bottom + keep)) of the stable order")
        }
    }
}
