import Checkpoints
import Foundation
import Merging
import SafeTensors
import Statistics
import TestSupport
import Testing

@Suite("Merge output")
struct OutputTests {
    func run(
        _ family: SyntheticFamily, _ yaml: String, options: MergeOptions = MergeOptions(threads: 2),
        name: String = "out"
    ) throws -> (PreparedMerge, URL) {
        let config = try family.configuration(yaml, named: "\(name).yml")
        let mergeConfigured = try Merge(configuration: config, options: options)
        let merge = try mergeConfigured.prepare()
        let output = family.output(name)
        try merge.write(to: output)
        return (merge, output)
    }

    static let taskArithmetic =
        "models: [{model: ./t1, parameters: {weight: 0.5}}, {model: ./t2, parameters: {weight: 0.25}}]\nbase_model: "
        + "./base\nmerge_method: task_arithmetic\n"

    @Test func writesTheModelDirectory() throws {
        let family = try SyntheticFamily.make("files")
        let (_, output) = try run(family, Self.taskArithmetic)
        let files = Set(try FileManager.default.contentsOfDirectory(atPath: output.path))
        #expect(
            files == [
                "model.safetensors", "config.json", "tokenizer.json", "tokenizer_config.json", "mergekit_config.yml",
                "README.md", ".metamerge-manifest.json",
            ])
        // The config is copied as given; nothing about the output differs from the base's config.json.
        #expect(
            try Data(contentsOf: output.appendingPathComponent("config.json"))
                == Data(contentsOf: family.root.appendingPathComponent("base/config.json")))
        #expect(
            try String(contentsOf: output.appendingPathComponent("mergekit_config.yml"), encoding: .utf8)
                == Self.taskArithmetic)
        let card = try String(contentsOf: output.appendingPathComponent("README.md"), encoding: .utf8)
        #expect(
            card.hasPrefix("---\nbase_model:\n- ./base\ntags:\n- merge\n- metamerge\nlibrary_name: transformers\n---\n")
        )
        #expect(card.contains("Task Arithmetic"))
        #expect(card.contains("* ./t1"))
        #expect(card.contains("No gate was run"))
        // Nothing else is left beside the output (the temporary sibling was renamed).
        let siblings = try FileManager.default.contentsOfDirectory(atPath: family.root.path)
        #expect(!siblings.contains { $0.contains("partial") })
    }

    @Test func taskArithmeticIsKnownByHand() throws {
        // Base 1, task deltas +2 and −4 everywhere: 1 + 0.5·2 + 0.25·(−4) = 1.
        let family = try SyntheticFamily.make(
            "by-hand", base: { _, n in [Float](repeating: 1, count: n) },
            delta: { k, _, n in [Float](repeating: k == 1 ? 2 : -4, count: n) })
        let (_, output) = try run(family, Self.taskArithmetic)
        for (_, values) in try readModel(output) { #expect(values.allSatisfy { $0 == 1 }) }
        // Linear without a base: (0.5·3 + 0.25·(−3)) / 0.75 = 1.
        let (_, linear) = try run(
            family,
            "models: [{model: ./t1, parameters: {weight: 0.5}}, {model: ./t2, parameters: {weight: "
                + "0.25}}]\nmerge_method: linear\n",
            name: "linear")
        for (_, values) in try readModel(linear) { #expect(values.allSatisfy { $0 == 1 }) }
    }

    @Test func shardsByTheGivenSizeWithAnIndex() throws {
        let family = try SyntheticFamily.make("shards")
        let (merge, output) = try run(
            family, Self.taskArithmetic, options: MergeOptions(threads: 2, shardSize: ByteSize(bytes: 2000)))
        let files = try FileManager.default.contentsOfDirectory(atPath: output.path).filter {
            $0.hasSuffix(".safetensors")
        }.sorted()
        #expect(files.count >= 3)
        #expect(files.first?.hasPrefix("model-00001-of-") == true)
        let index =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: output.appendingPathComponent("model.safetensors.index.json"))) as! [String: Any]
        let map = index["weight_map"] as! [String: String]
        #expect(Set(map.keys) == Set(merge.plan.tensors.map { $0.name }))
        #expect(Set(map.values) == Set(files))
        // The dry-run plan lists the same shards.
        let text = merge.plan.render(shardSize: ByteSize(bytes: 2000))
        #expect(text.contains(files.last!))
    }

    @Test func resultIsIndependentOfThreadsAndChunking() throws {
        let family = try SyntheticFamily.make(
            "determinism", shape: .init(hidden: 32, intermediate: 64, layers: 1, vocab: 40), tasks: 3)
        let yaml = """
            models:
              - {model: ./t1, parameters: {weight: 1, density: 0.3}}
              - {model: ./t2, parameters: {weight: 0.5, density: 0.7}}
              - {model: ./t3, parameters: {weight: 0.8, density: 0.5, gamma: 0.1}}
            base_model: ./base
            merge_method: METHOD
            parameters: {rescale: true}
            """
        for method in ["ties", "breadcrumbs_ties", "dare_ties", "della", "sce", "model_stock"] {
            let text = yaml.replacingOccurrences(of: "METHOD", with: method).replacingOccurrences(
                of: "della\nparameters: {rescale: true}", with: "della\nparameters: {epsilon: 0.05}")
            let (_, a) = try run(family, text, options: MergeOptions(randomSeed: 3, threads: 1), name: "\(method)-a")
            let (_, b) = try run(
                family, text, options: MergeOptions(randomSeed: 3, threads: 3, chunkElements: 96), name: "\(method)-b")
            #expect(try readModel(a) == readModel(b), "\(method): output depends on threads/chunking")
        }
    }

    @Test func outputDtypeFollowsOutDtypeThenDtypeThenThePromotedInputs() throws {
        let family = try SyntheticFamily.make("dtypes", dtype: .bf16)
        func dtype(_ extra: String, _ name: String) throws -> DType {
            let (_, output) = try run(family, Self.taskArithmetic + extra, name: name)
            return try SafeTensorsFile(url: output.appendingPathComponent("model.safetensors")).tensors[0].dtype
        }
        #expect(try dtype("", "promoted") == .bf16)
        #expect(try dtype("dtype: float32\n", "dtype") == .f32)
        #expect(try dtype("dtype: float32\nout_dtype: float16\n", "out") == .f16)
        let (_, output) = try run(family, Self.taskArithmetic + "out_dtype: float32\n", name: "config")
        let config =
            try JSONSerialization.jsonObject(with: Data(contentsOf: output.appendingPathComponent("config.json")))
            as! [String: Any]
        #expect(config["torch_dtype"] as? String == "float32")
    }

    @Test func dtypeRoundsInputsOnLoad() throws {
        // Task values 1 + 2⁻¹⁰ are not bfloat16 values: with dtype bfloat16 they load as 1, so the delta is 0.
        let family = try SyntheticFamily.make(
            "load-dtype", tasks: 1, base: { _, n in [Float](repeating: 1, count: n) },
            delta: { _, _, n in [Float](repeating: 1.0 / 1024, count: n) })
        let yaml =
            "models: [{model: ./t1, parameters: {weight: 1}}]\nbase_model: ./base\nmerge_method: task_arithmetic\n"
        let (_, exact) = try run(family, yaml + "dtype: float32\n", name: "f32")
        let (_, rounded) = try run(family, yaml + "dtype: bfloat16\nout_dtype: float32\n", name: "bf16")
        #expect(try readModel(exact).values.allSatisfy { $0.allSatisfy { $0 == 1 + 1.0 / 1024 } })
        #expect(try readModel(rounded).values.allSatisfy { $0.allSatisfy { $0 == 1 } })
    }

    @Test func existingOutputIsRefusedUnlessOverwriting() throws {
        let family = try SyntheticFamily.make("exists")
        let config = try family.configuration(Self.taskArithmetic)
        let mergeConfigured = try Merge(configuration: config)
        let merge = try mergeConfigured.prepare()
        try FileManager.default.createDirectory(at: family.output(), withIntermediateDirectories: false)
        #expect(throws: (any Error).self) { try merge.write(to: family.output()) }
        try merge.write(to: family.output(), overwrite: true)
        #expect(
            FileManager.default.fileExists(atPath: family.output().appendingPathComponent("model.safetensors").path))
    }

    @Test func tokenizerSourceNamesTheDonor() throws {
        let family = try SyntheticFamily.make("tokenizer")
        let donor = SyntheticFamily.tokenizerJSON(vocab: SyntheticFamily.Shape().vocab, extra: "\"donor\": \"t2\", ")
        try Data(donor.utf8).write(to: family.root.appendingPathComponent("t2/tokenizer.json"))
        let (_, output) = try run(family, Self.taskArithmetic + "tokenizer_source: ./t2\n")
        #expect(try String(contentsOf: output.appendingPathComponent("tokenizer.json"), encoding: .utf8) == donor)
    }
}

@Suite("Shapes and tied embeddings")
struct ShapeTests {
    @Test func differentVocabulariesAreRefusedWithoutATokenizerRule() throws {
        let shape = SyntheticFamily.Shape(vocab: 12)
        let family = try SyntheticFamily.make("vocab", shape: shape, taskVocab: [2: 15])
        let config = try family.configuration(OutputTests.taskArithmetic)
        let error = #expect(throws: MergeConfigError.self) { try Merge(configuration: config) }
        #expect(error?.description.contains("vocabulary sizes differ") == true)
        #expect(error?.description.contains("'./t2' 15") == true)
        #expect(error?.description.contains("12") == true)
        #expect(error?.description.contains("tokenizer_source") == true)
    }

    @Test func otherShapeMismatchesAreRefusedNamingTheTensor() throws {
        let family = try SyntheticFamily.make("mismatch")
        // Rewrite t2 with a wider MLP.
        var shape = SyntheticFamily.Shape()
        shape.intermediate = 20
        let t2 = family.root.appendingPathComponent("t2")
        try FileManager.default.removeItem(at: t2)
        try SyntheticFamily.writeModel(t2, shape: shape) { _, n in [Float](repeating: 0, count: n) }
        let config = try family.configuration(OutputTests.taskArithmetic)
        let error = #expect(throws: MergeConfigError.self) { try Merge(configuration: config) }
        #expect(error?.description.contains("model.layers.0.mlp.down_proj.weight': shapes differ") == true)
    }

    @Test func tiedLmHeadReadsTheEmbedding() throws {
        // t1 ties lm_head to its embedding; the base and t2 store lm_head: the merge stores lm_head, taking t1's
        // embedding for it, and unties the output config only if the base's config ties it (it does not here).
        let family = try SyntheticFamily.make("tied", tiedTasks: [1])
        let config = try family.configuration(OutputTests.taskArithmetic)
        let mergeConfigured = try Merge(configuration: config)
        let merge = try mergeConfigured.prepare()
        try merge.write(to: family.output())
        let merged = try readModel(family.output())
        let base = try readModel(family.root.appendingPathComponent("base"))
        let t1 = try readModel(family.root.appendingPathComponent("t1"))
        let t2 = try readModel(family.root.appendingPathComponent("t2"))
        let head = merged["lm_head.weight"]!
        for i in head.indices {
            let b = base["lm_head.weight"]![i]
            let expected = b + ((t1["model.embed_tokens.weight"]![i] - b) * 0.5 + (t2["lm_head.weight"]![i] - b) * 0.25)
            #expect(head[i] == expected)
        }
    }

    @Test func allTiedStaysTied() throws {
        let family = try SyntheticFamily.make("all-tied", tiedTasks: [1, 2])
        // Rewrite the base tied too.
        let base = family.root.appendingPathComponent("base")
        try FileManager.default.removeItem(at: base)
        try SyntheticFamily.writeModel(base, shape: .init(), tied: true) { name, n in
            Random.normals(seed: name.hashValue64, n, scale: 0.5)
        }
        let config = try family.configuration(OutputTests.taskArithmetic)
        let mergeConfigured = try Merge(configuration: config)
        let merge = try mergeConfigured.prepare()
        try merge.write(to: family.output())
        #expect(try readModel(family.output())["lm_head.weight"] == nil)
    }
}

@Suite("Gate in the merge")
struct GateTests {
    /// Two task vectors pointing the same way (cosine 1) and a config gate of 0.5.
    static func family() throws -> SyntheticFamily {
        try SyntheticFamily.make(
            "gate", delta: { k, name, n in Random.normals(seed: name.hashValue64, n, scale: Float(k) * 0.01) })
    }

    @Test func failingGateRefusesTheMergeUnlessForced() throws {
        let family = try Self.family()
        let yaml = OutputTests.taskArithmetic + "gate: {max_cosine: 0.5}\n"
        let config = try family.configuration(yaml)
        let mergeConfigured = try Merge(configuration: config)
        let merge = try mergeConfigured.prepare()
        let gate = try #require(merge.plan.gate)
        #expect(!gate.passed)
        #expect(gate.violations.first == "cosine global [./t1 · ./t2]: 1.0000 > 0.5000")
        #expect(throws: MergeError.gateFailed(violations: gate.violations.count)) {
            try merge.write(to: family.output())
        }
        #expect(!FileManager.default.fileExists(atPath: family.output().path))

        let forcedConfigured = try Merge(configuration: config, options: MergeOptions(force: true))
        let forced = try forcedConfigured.prepare()
        try forced.write(to: family.output())
        let card = try String(contentsOf: family.output().appendingPathComponent("README.md"), encoding: .utf8)
        #expect(card.contains("FAILED (merge forced with --force)"))
        #expect(card.contains("max |cos| (global) 1.0000 > 0.5000"))
    }

    /// Linearity thresholds are read from a probe report; without one the merge says how to write it.
    @Test func linearityGateNeedsAProbeReport() throws {
        let family = try Self.family()
        let config = try family.configuration(OutputTests.taskArithmetic)
        let merge = try Merge(
            configuration: config,
            options: MergeOptions(gate: try GateThresholds.merge(parsing: "max-chord-residual=0.2")))
        let error = #expect(throws: MergeConfigError.self) { try merge.prepare() }
        #expect(error?.description.contains("metamerge probe") == true)
    }

    @Test func passingGateGoesIntoTheCard() throws {
        // Independent task vectors of 40k+ coordinates: |cos| is near 0.
        let family = try SyntheticFamily.make(
            "gate-pass", shape: .init(hidden: 64, intermediate: 128, layers: 1, vocab: 64))
        let config = try family.configuration(OutputTests.taskArithmetic)
        let mergeConfigured = try Merge(
            configuration: config,
            options: MergeOptions(gate: try GateThresholds.merge(parsing: "max-cosine=0.2,scope=layer")))
        let merge = try mergeConfigured.prepare()
        #expect(merge.plan.gate?.passed == true)
        try merge.write(to: family.output())
        let card = try String(contentsOf: family.output().appendingPathComponent("README.md"), encoding: .utf8)
        #expect(card.contains("Orthogonality gate max |cos| ≤ 0.2 (layer): **passed**"))
    }
}
