import Foundation
import Merging
import SafeTensors
import TestSupport
import Testing

/// Every deterministic method against MergeKit 0.1.5's own output on the same family and config
/// (`scripts/fixtures/make_mergekit_fixtures.py`, committed under `Tests/Fixtures/mergekit/`).
///
/// Float32 results must agree within 4 ulp of the tensor's operand scale (the largest magnitude of its inputs and of
/// MergeKit's result); the bfloat16 cases within
/// one bfloat16 ulp. Where a magnitude-based cut (TIES, Breadcrumbs) falls among equal |δ|, MergeKit's unstable
/// `argsort` and this project's stable order (lower index first) may keep different elements: those elements —
/// every position where some model's |δ| equals a cut value shared by elements on both sides of the cut — are
/// excluded, and counted.
@Suite("MergeKit parity", .serialized)
struct MergeKitParityTests {
    struct Manifest: Decodable {
        struct Case: Decodable {
            let name: String
            let config: String
            let expected: String
            let tensors: [String]
            let sparsifier: String?
            let out_dtype: String?
            /// MergeKit's output: `num_hidden_layers` in its config.json and its number of tensors (newer cases).
            let num_hidden_layers: Int?
            let tensor_count: Int?
            /// With a tokenizer rule: MergeKit's `vocab_size` and its tokenizer's `get_vocab()`.
            let vocab_size: Int?
            let tokenizer_vocab: [String: Int]?
        }
        let family: String
        let tasks: [String]
        let cases: [Case]
        /// Models outside the family (a quantised variant), by name → path under the fixtures folder.
        let extra_models: [String: String]
        /// The largest absolute error of MergeKit's Float32 arcee_fusion KL against Float64, in units of 2⁻²⁴.
        let arcee_fusion_kl_error_ulps: Double?
    }

    static let root = RepositoryPaths.fixtures.appendingPathComponent("mergekit")

    static let manifest: Manifest = {
        let data = try! Data(contentsOf: root.appendingPathComponent("manifest.json"))
        return try! JSONDecoder().decode(Manifest.self, from: data)
    }()

    static var caseNames: [String] { manifest.cases.map(\.name) }

    @Test(arguments: caseNames)
    func matchesMergeKit(_ name: String) throws {
        try compare(name, chunkElements: nil)
    }

    /// The same comparison with every tensor cut into chunks of ~1000 elements (whole rows for row-wise methods), so
    /// the reduction passes (norms, Gram matrices, counts, quantile selection) combine many chunks.
    @Test(arguments: caseNames)
    func matchesMergeKitStreamedInSmallChunks(_ name: String) throws {
        try compare(name, chunkElements: 1000)
    }

    func compare(_ name: String, chunkElements: Int?) throws {
        let testCase = Self.manifest.cases.first { $0.name == name }!
        let configuration = try MergeConfiguration.load(contentsOf: Self.root.appendingPathComponent(testCase.config))
        var options = MergeOptions(randomSeed: 1, threads: 2)
        if let chunkElements { options.chunkElements = chunkElements }
        let merge = try Merge(configuration: configuration, options: options).prepare()
        let output = try makeTemporaryDirectory("parity-\(name)-\(chunkElements ?? 0)").appendingPathComponent("out")
        try merge.write(to: output)

        let ours = try readModel(output)
        let expected = try readExpected(testCase.expected)
        let familyURL = Self.root.appendingPathComponent(Self.manifest.family)
        var inputs = try (["base"] + Self.manifest.tasks).reduce(into: [String: [String: [Float]]]()) {
            $0[$1] = try readModel(familyURL.appendingPathComponent($1))
        }
        for (name, path) in Self.manifest.extra_models {
            inputs[name] = try readModel(Self.root.appendingPathComponent(path))
        }

        var worstUlps = 0.0
        var identical = 0, compared = 0, excluded = 0
        for tensorName in testCase.tensors {
            let a = try #require(ours[tensorName], "missing \(tensorName)")
            let b = try #require(expected[tensorName])
            #expect(a.count == b.count)
            // Operand scale: the largest magnitude among the inputs and MergeKit's result (a method whose result
            // outgrows its inputs — multislerp with unnormalised weights — rounds at the result's scale).
            let largest = max(
                inputs.values.compactMap { $0[tensorName] }.flatMap { $0 }.map(abs).max() ?? 0, b.map(abs).max() ?? 0)
            let ulp = Double(Float(largest).ulp)
            var skip = [Bool](repeating: false, count: a.count)
            if let sparsifier = testCase.sparsifier, sparsifier == "magnitude" || sparsifier == "outliers" {
                skip = try ambiguousPositions(tensorName, merge: merge, inputs: inputs, sparsifier: sparsifier)
            }
            if testCase.sparsifier == "fusion" {
                skip = try fusionAmbiguousPositions(tensorName, merge: merge, inputs: inputs)
            }
            for i in 0..<a.count {
                if skip[i] {
                    excluded += 1
                    continue
                }
                compared += 1
                if a[i].bitPattern == b[i].bitPattern { identical += 1 }
                if testCase.out_dtype == "bfloat16" {
                    let scale = max(abs(a[i]), abs(b[i]))
                    let bf16Ulp = scale > 0 ? Float(sign: .plus, exponent: scale.exponent - 7, significand: 1) : 0
                    #expect(
                        abs(a[i] - b[i]) <= bf16Ulp, "\(name) \(tensorName)[\(i)]: \(a[i]) vs \(b[i]) (> 1 bf16 ulp)")
                } else {
                    let error = Double(abs(a[i] - b[i])) / ulp
                    worstUlps = max(worstUlps, error)
                    if error > 4 {
                        Issue.record(
                            "\(name) \(tensorName)[\(i)]: \(a[i]) vs MergeKit \(b[i]) (\(error) ulp of \(largest))")
                        break
                    }
                }
            }
        }
        if let layers = testCase.num_hidden_layers {
            let data = try Data(contentsOf: output.appendingPathComponent("config.json"))
            let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            #expect(json["num_hidden_layers"] as? Int == layers, "\(name): num_hidden_layers")
        }
        if let vocabulary = testCase.tokenizer_vocab {
            let data = try Data(contentsOf: output.appendingPathComponent("config.json"))
            let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            #expect(json["vocab_size"] as? Int == testCase.vocab_size, "\(name): vocab_size")
            #expect(try readVocabulary(output) == vocabulary, "\(name): the output tokenizer's vocabulary")
        }
        if let count = testCase.tensor_count {
            #expect(ours.count == count, "\(name): \(ours.count) tensors, MergeKit wrote \(count)")
        }
        print(
            String(
                format: "parity %@%@: max %.2f ulp, bit-identical %.2f%% of %d elements, tie exclusions %d",
                name, chunkElements.map { " (chunks of \($0))" } ?? "", worstUlps,
                100 * Double(identical) / Double(max(compared, 1)), compared, excluded))
        #expect(compared > 0)
    }

    /// Positions where a magnitude cut of some model falls among equal |δ| values (see the suite's comment).
    func ambiguousPositions(
        _ tensorName: String, merge: PreparedMerge, inputs: [String: [String: [Float]]], sparsifier: String
    ) throws -> [Bool] {
        let plan = merge.plan
        let tensor = try #require(plan.tensors.first { $0.name == tensorName })
        let base = try #require(inputs["base"]?[tensorName])
        var skip = [Bool](repeating: false, count: base.count)
        for index in plan.taskIndices {
            let model = URL(fileURLWithPath: plan.inputs[index].url.path).lastPathComponent
            let values = try #require(inputs[model]?[tensorName])
            let density = tensor.perInput[index]["density"]?.number ?? 1
            if density >= 1 { continue }
            let magnitudes = zip(values, base).map { abs($0 - $1) }
            let ascending = magnitudes.sorted()
            let n = magnitudes.count
            var cuts: [Int] = []
            if sparsifier == "magnitude" {
                cuts = [n - max(1, Int(density * Double(n)))]
            } else {
                let gamma = tensor.perInput[index]["gamma"]?.number ?? 0.01
                let keep = Int(density * Double(n)), top = Int(gamma * Double(n))
                let bottom = max(0, n - keep - top)
                cuts = [bottom, bottom + keep]
            }
            for cut in cuts where cut > 0 && cut < n && ascending[cut - 1] == ascending[cut] && ascending[cut] > 0 {
                for i in 0..<n where magnitudes[i] == ascending[cut] { skip[i] = true }
            }
        }
        return skip
    }

    /// arcee_fusion: positions whose importance MergeKit's Float32 arithmetic may put on either side of the threshold.
    ///
    /// Importance = |θ − b|·KL(row). MetaMerge computes the KL in Float64; MergeKit in Float32, where the KL of two
    /// nearly equal softmax rows is a small difference of large terms: its absolute error, measured against Float64
    /// by the fixture script over the whole family, is up to `arcee_fusion_kl_error_ulps`·2⁻²⁴ (≈ 20% of a typical
    /// KL here). With δ that bound (rounded up), each importance lies in |Δ|·[KL − δ, KL + δ]; the threshold
    /// (median + 1.5·IQR, at ranks ⌊q·(n − 1)⌋) then lies between the same formula on the lower and upper bounds
    /// (order statistics are monotone in every value). Elements whose interval meets the threshold's are excluded and
    /// counted; every other element must match.
    func fusionAmbiguousPositions(
        _ tensorName: String, merge: PreparedMerge, inputs: [String: [String: [Float]]]
    ) throws -> [Bool] {
        let plan = merge.plan
        let tensor = try #require(plan.tensors.first { $0.name == tensorName })
        let base = try #require(inputs["base"]?[tensorName])
        let other = try #require(plan.taskIndices.first)
        let model = URL(fileURLWithPath: plan.inputs[other].url.path).lastPathComponent
        let values = try #require(inputs[model]?[tensorName])
        let bound = try #require(Self.manifest.arcee_fusion_kl_error_ulps, "manifest lacks arcee_fusion_kl_error_ulps")
        let delta = bound.rounded(.up) * 0x1p-24
        let row = tensor.shape.last ?? 1
        func softmax(_ x: ArraySlice<Float>) -> [Double] {
            let largest = Double(x.max()!)
            let e = x.map { exp(Double($0) - largest) }
            let sum = e.reduce(0, +)
            return e.map { $0 / sum + 1e-8 }
        }
        var low = [Double](repeating: 0, count: base.count), high = low
        for start in stride(from: 0, to: base.count, by: row) {
            let p = softmax(values[start..<(start + row)]), q = softmax(base[start..<(start + row)])
            var kl = 0.0
            for i in 0..<row { kl += p[i] * log(p[i] / q[i]) }
            for i in 0..<row {
                let d = Double(abs(values[start + i] - base[start + i]))
                low[start + i] = d * (kl - delta)
                high[start + i] = d * (kl + delta)
            }
        }
        func threshold(_ median: [Double], _ q3: [Double], _ q1: [Double]) -> Double {
            let n = median.count
            func at(_ sorted: [Double], _ q: Double) -> Double { sorted[Int(q * Double(n - 1))] }
            return at(median, 0.5) + 1.5 * (at(q3, 0.75) - at(q1, 0.25))
        }
        let lowSorted = low.sorted(), highSorted = high.sorted()
        let lowest = threshold(lowSorted, lowSorted, highSorted)
        let highest = threshold(highSorted, highSorted, lowSorted)
        return zip(low, high).map { $0.1 >= lowest && $0.0 <= highest }
    }

    /// token → id of a tokenizer.json (`model.vocab` and `added_tokens`), as `get_vocab()`.
    func readVocabulary(_ directory: URL) throws -> [String: Int] {
        let data = try Data(contentsOf: directory.appendingPathComponent("tokenizer.json"))
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        var result: [String: Int] = [:]
        if let vocab = (json["model"] as? [String: Any])?["vocab"] as? [String: Int] { result = vocab }
        for entry in json["added_tokens"] as? [[String: Any]] ?? [] {
            if let content = entry["content"] as? String, let id = entry["id"] as? Int { result[content] = id }
        }
        return result
    }

    func readExpected(_ file: String) throws -> [String: [Float]] {
        let url = Self.root.appendingPathComponent(file)
        let st = try SafeTensorsFile(url: url)
        var result: [String: [Float]] = [:]
        for info in st.tensors {
            var values = [Float](repeating: 0, count: info.elementCount)
            try values.withUnsafeMutableBufferPointer { try st.readFloat32(info.name, into: $0) }
            result[info.name] = values
        }
        return result
    }
}
