import Foundation
import SafeTensors
import TestSupport
import Testing

/// Issue 17 follow-ups: the tied head decided as transformers decides it (explicit key, else the architecture's
/// default; each architecture's own embedding name), config.json sizes under each architecture's own keys and
/// per-layer lists checked against the layers, reports the user named never silently ignored when damaged, and
/// activation names that are one function not refused as another architecture.
@Suite("Trust follow-ups: tied heads, config consistency, damaged reports, activation aliases")
struct TrustFollowUpTests {
    /// `Tests/Fixtures/architectures` (scripts/fixtures/make_checkpoint_architecture_fixtures.py).
    static let architectures = RepositoryPaths.fixtures.appendingPathComponent("architectures")

    /// A copy of fixture model `name` (e.g. `gpt2/base`) under `directory`, so a test may edit it.
    static func copy(_ name: String, to directory: URL) throws -> URL {
        let target = directory.appendingPathComponent(name.replacingOccurrences(of: "/", with: "-"))
        try FileManager.default.copyItem(at: architectures.appendingPathComponent(name), to: target)
        return target
    }

    /// Tensor `name` of the safetensors file at `url`, as Float32.
    static func tensor(_ name: String, in url: URL) throws -> [Float] {
        let file = try SafeTensorsFile(url: url)
        let count = try #require(file.info(name)).elementCount
        var values = [Float](repeating: .nan, count: count)
        try values.withUnsafeMutableBufferPointer { try file.readFloat32(name, into: $0) }
        return values
    }

    // MARK: A. a missing head without tie_word_embeddings

    /// config.json without `tie_word_embeddings`: transformers uses the config class's default — false for Llama,
    /// so a Llama checkpoint without `lm_head.weight` would get a random head. It was read as tied (the embedding
    /// served as the head) by inspect, analyze, merge and the probe; now all refuse it. A Gemma config's default is
    /// true: the same weights are then a tied model.
    @Test("no tie_word_embeddings key: a Llama without lm_head is refused everywhere, a Gemma one is tied")
    func missingHeadFollowsTheArchitectureDefault() throws {
        let family = try FamilyCopy("follow-head", tasks: ["add", "rev"])
        let addConfig = family.model("add").appendingPathComponent("config.json")
        try TrustConfigTests.edit(addConfig, "  \"tie_word_embeddings\": false,\n", "")
        try TrustConfigTests.dropTensor("lm_head.weight", in: family.model("add"))

        let inspect = try MetaMergeProcess.run(["inspect", family.model("add").path])
        #expect(inspect.status == 2, "\(inspect.stdout)")
        #expect(inspect.stderr.contains("lm_head.weight"), "\(inspect.stderr)")
        #expect(
            inspect.stderr.contains("no tie_word_embeddings and transformers' default for model_type llama is false"),
            "\(inspect.stderr)")
        #expect(!inspect.stdout.contains("tied lm_head   yes"))
        let workspace = family.workspace
        let merge = try MetaMergeProcess.run(
            ["merge", try family.config().path, workspace.appendingPathComponent("merged").path])
        #expect(merge.status == 2)
        #expect(merge.stderr.contains("lm_head.weight"), "\(merge.stderr)")
        #expect(!FileManager.default.fileExists(atPath: workspace.appendingPathComponent("merged").path))
        let analyze = try MetaMergeProcess.run(
            ["analyze"] + family.arguments + ["-o", workspace.appendingPathComponent("r.h5").path])
        #expect(analyze.status == 2)
        #expect(analyze.stderr.contains("lm_head.weight"), "\(analyze.stderr)")
        let probe = try MetaMergeProcess.run(
            ["probe"] + family.arguments + [
                "--alphas", "0,0.5,1", "--scales", "1", "--random-prompts", "1", "--prompt-length", "4", "-o",
                workspace.appendingPathComponent("p.h5").path,
            ])
        #expect(probe.status == 2)
        #expect(probe.stderr.contains("lm_head.weight"), "\(probe.stderr)")

        // The same weights under a config whose class ties by default (Gemma): the embedding is the head.
        try TrustConfigTests.edit(addConfig, "\"model_type\": \"llama\"", "\"model_type\": \"gemma\"")
        let gemma = try MetaMergeProcess.run(["inspect", family.model("add").path])
        #expect(gemma.status == 0, "\(gemma.stderr)")
        #expect(gemma.stdout.contains("tied lm_head   yes"), "\(gemma.stdout)")
    }

    // MARK: B. config.json against the weights, under each architecture's keys

    /// GPT-2 stores its sizes as `n_layer` and `n_embd` (transformers' `attribute_map`) and its layers as
    /// `transformer.h.<i>`: a config saying 3 layers for 4 stored ones, or 6 columns for an 8-wide embedding, was
    /// accepted.
    @Test("GPT-2: n_layer and n_embd that disagree with the weights are listed by inspect (exit 2)")
    func gpt2SizesAreChecked() throws {
        let directory = try makeTemporaryDirectory("follow-gpt2")
        let model = try Self.copy("gpt2/base", to: directory)
        let config = model.appendingPathComponent("config.json")
        let sound = try MetaMergeProcess.run(["inspect", model.path])
        #expect(sound.status == 0, "\(sound.stderr)")
        #expect(sound.stdout.contains("layers         4   hidden 8   vocab 16"), "\(sound.stdout)")

        try TrustConfigTests.edit(config, "\"n_layer\": 4", "\"n_layer\": 3")
        let layers = try MetaMergeProcess.run(["inspect", model.path])
        #expect(layers.status == 2, "\(layers.stdout)")
        #expect(
            layers.stderr.contains("says n_layer = 3, but the weights hold layers 0…3 (4 layers)"), "\(layers.stderr)")

        try TrustConfigTests.edit(config, "\"n_layer\": 3", "\"n_layer\": 4")
        try TrustConfigTests.edit(config, "\"n_embd\": 8", "\"n_embd\": 6")
        let hidden = try MetaMergeProcess.run(["inspect", model.path])
        #expect(hidden.status == 2, "\(hidden.stdout)")
        #expect(
            hidden.stderr.contains("tensor 'transformer.wte.weight': has 8 columns, but config.json says n_embd = 6"),
            "\(hidden.stderr)")
    }

    /// GPT-2 keeps its head count in `n_head`: a task model cutting the same projections into 4 heads instead of 2
    /// computes something else, but was merged with the base because only `num_attention_heads` was compared.
    @Test("merge: a GPT-2 task model with another n_head than the base is refused")
    func gpt2HeadCountIsCompared() throws {
        let directory = try makeTemporaryDirectory("follow-gpt2-heads")
        let base = try Self.copy("gpt2/base", to: directory)
        let task = directory.appendingPathComponent("task")
        try FileManager.default.copyItem(at: base, to: task)
        let config = directory.appendingPathComponent("merge.yml")
        let text = """
            merge_method: task_arithmetic
            base_model: \(base.path)
            models:
              - model: \(task.path)
                parameters: {weight: 0.5}
            dtype: float32

            """
        try Data(text.utf8).write(to: config)
        let same = try MetaMergeProcess.run(["merge", config.path, directory.appendingPathComponent("same").path])
        #expect(same.status == 0, "\(same.stderr)")
        try TrustConfigTests.edit(task.appendingPathComponent("config.json"), "\"n_head\": 2", "\"n_head\": 4")
        let output = directory.appendingPathComponent("merged")
        let merge = try MetaMergeProcess.run(["merge", config.path, output.path])
        #expect(merge.status == 2)
        #expect(merge.stderr.contains("n_head = 4, but"), "\(merge.stderr)")
        #expect(!FileManager.default.fileExists(atPath: output.path))
    }

    /// A Qwen2 config whose `layer_types` has 3 entries for 4 layers: transformers would index past its end.
    @Test("a per-layer list (layer_types) without one entry per layer is listed by inspect and refused by merge")
    func perLayerListLengthIsChecked() throws {
        let family = try FamilyCopy("follow-lists", tasks: ["add"])
        for name in ["base", "add"] {
            let config = family.model(name).appendingPathComponent("config.json")
            try TrustConfigTests.edit(config, "\"model_type\": \"llama\"", "\"model_type\": \"qwen2\"")
            try TrustConfigTests.edit(config, "\"LlamaForCausalLM\"", "\"Qwen2ForCausalLM\"")
            try TrustConfigTests.edit(
                config, "  \"attention_bias\": false,\n",
                "  \"attention_bias\": false,\n  \"layer_types\": [\"full_attention\", \"full_attention\", "
                    + "\"full_attention\"],\n")
        }
        let inspect = try MetaMergeProcess.run(["inspect", family.model("base").path])
        #expect(inspect.status == 2, "\(inspect.stdout)")
        #expect(
            inspect.stderr.contains("'layer_types' has 3 entries, but config.json says num_hidden_layers = 4"),
            "\(inspect.stderr)")
        let output = family.workspace.appendingPathComponent("merged")
        let merge = try MetaMergeProcess.run(["merge", try family.config().path, output.path])
        #expect(merge.status == 2)
        #expect(merge.stderr.contains("layer_types"), "\(merge.stderr)")
        #expect(!FileManager.default.fileExists(atPath: output.path))
    }

    // MARK: C. Falcon's tied head

    /// Falcon ties `lm_head.weight` to `transformer.word_embeddings.weight` (and by default: no key needed).
    @Test("inspect: a Falcon without lm_head is tied, with or without tie_word_embeddings in config.json")
    func falconHeadIsTied() throws {
        let directory = try makeTemporaryDirectory("follow-falcon-inspect")
        let model = try Self.copy("falcon/base", to: directory)
        let stated = try MetaMergeProcess.run(["inspect", model.path])
        #expect(stated.status == 0, "\(stated.stderr)")
        #expect(stated.stdout.contains("tied lm_head   yes"), "\(stated.stdout)")
        try TrustConfigTests.edit(
            model.appendingPathComponent("config.json"), "  \"tie_word_embeddings\": true,\n", "")
        let byDefault = try MetaMergeProcess.run(["inspect", model.path])
        #expect(byDefault.status == 0, "\(byDefault.stderr)")
        #expect(byDefault.stdout.contains("tied lm_head   yes"), "\(byDefault.stdout)")
    }

    /// A Falcon family whose members disagree on storing the head: each member's head is what transformers loads
    /// (its word embedding when tied, its stored lm_head otherwise) — MergeKit's `tied_names` reading. The merged
    /// head equals transformers' reference (float64 task arithmetic of the loaded heads, rounded to float32), and
    /// the output, which stores lm_head.weight, says tie_word_embeddings: false — also when the base's config ties
    /// by Falcon's default, without the key (the key is then added).
    @Test(
        "merge: a Falcon family with tied and untied members merges each member's head as transformers loads it",
        arguments: [true, false])
    func falconMixedHeadsMerge(keyInConfig: Bool) throws {
        let directory = try makeTemporaryDirectory("follow-falcon-merge")
        let falcon = directory.appendingPathComponent("falcon")
        try FileManager.default.copyItem(at: Self.architectures.appendingPathComponent("falcon"), to: falcon)
        for name in ["base", "tied"] where !keyInConfig {
            try TrustConfigTests.edit(
                falcon.appendingPathComponent("\(name)/config.json"), "  \"tie_word_embeddings\": true,\n", "")
        }
        let config = directory.appendingPathComponent("merge.yml")
        let text = """
            merge_method: task_arithmetic
            base_model: \(falcon.appendingPathComponent("base").path)
            models:
              - model: \(falcon.appendingPathComponent("tied").path)
                parameters: {weight: 0.5}
              - model: \(falcon.appendingPathComponent("untied").path)
                parameters: {weight: 0.5}
            dtype: float32

            """
        try Data(text.utf8).write(to: config)
        let output = directory.appendingPathComponent("merged")
        let merge = try MetaMergeProcess.run(["merge", config.path, output.path])
        #expect(merge.status == 0, "\(merge.stderr)")
        let merged = try Self.tensor("lm_head.weight", in: output.appendingPathComponent("model.safetensors"))
        let expected = try Self.tensor("lm_head.weight", in: falcon.appendingPathComponent("expected.safetensors"))
        #expect(merged.count == expected.count)
        // Float32 arithmetic against a float64 reference: a few ulps of values of size ~0.1.
        let worst = zip(merged, expected).map { abs($0 - $1) }.max() ?? .infinity
        #expect(worst <= 1e-7, "largest difference \(worst)")
        let written = try String(contentsOf: output.appendingPathComponent("config.json"), encoding: .utf8)
        #expect(written.contains("\"tie_word_embeddings\": false"), "\(written)")
    }

    // MARK: D. damaged reports the user named

    /// `probe -o REPORT` and `sweep -o REPORT` read MetaGPT's λ from REPORT's analysis and copy that analysis into
    /// the new file. A damaged analysis (an asymmetric Gram block) was silently ignored — λ recomputed and the damage
    /// copied on; now it is exit 2 naming the report and the dataset, and the report is left as it was.
    @Test("probe and sweep into a damaged analysis report: exit 2 naming /tensors/gram, report unchanged")
    func damagedReportIsRefused() throws {
        let reports = try TrustReportTests.Reports("follow-damaged")
        try reports.editGrams { g, T in
            g[1] = 0.5 * (g[0] * g[T + 1]).squareRoot()
            g[T] = -g[1]
        }
        let before = try Data(contentsOf: reports.statistics)
        let probe = try MetaMergeProcess.run(
            ["probe"] + reports.family.arguments + [
                "--alphas", "0,0.5,1", "--scales", "1", "--random-prompts", "1", "--prompt-length", "4", "-o",
                reports.statistics.path,
            ])
        #expect(probe.status == 2, "\(probe.stdout)")
        #expect(probe.stderr.contains(reports.statistics.path), "\(probe.stderr)")
        #expect(probe.stderr.contains("/tensors/gram"), "\(probe.stderr)")
        #expect(try Data(contentsOf: reports.statistics) == before)

        let tasks = ["add", "rev"].flatMap {
            ["--task", "\($0)=" + RepositoryPaths.tinyFamily.appendingPathComponent("tasks/\($0).jsonl").path]
        }
        let sweep = try MetaMergeProcess.run(
            [
                "sweep", try reports.family.config().path, "--weights", "uniform,metagpt", "--scales", "1", "--quiet",
                "-o", reports.statistics.path,
            ] + tasks)
        #expect(sweep.status == 2, "\(sweep.stdout)")
        #expect(sweep.stderr.contains("/tensors/gram"), "\(sweep.stderr)")
        #expect(try Data(contentsOf: reports.statistics) == before)
    }

    // MARK: E. activation spellings of one function

    /// transformers' ACT2FN maps `swish` and `silu` to the same function (F.silu), and `gelu_new` to the tanh
    /// approximation `gelu_pytorch_tanh` computes: such pairs are one architecture. `gelu` (erf) and the tanh
    /// approximation are not.
    @Test("merge: swish vs silu and gelu_new vs gelu_pytorch_tanh are one activation; gelu vs tanh GELU is refused")
    func activationSpellings() throws {
        let family = try FamilyCopy("follow-act", tasks: ["add", "rev"])
        let addConfig = family.model("add").appendingPathComponent("config.json")
        let output = family.workspace.appendingPathComponent("merged")
        try TrustConfigTests.edit(addConfig, "\"hidden_act\": \"silu\"", "\"hidden_act\": \"swish\"")
        let swish = try MetaMergeProcess.run(["merge", try family.config().path, output.path])
        #expect(swish.status == 0, "\(swish.stderr)")

        try FileManager.default.removeItem(at: output)
        let baseConfig = family.model("base").appendingPathComponent("config.json")
        try TrustConfigTests.edit(addConfig, "\"hidden_act\": \"swish\"", "\"hidden_act\": \"gelu_new\"")
        try TrustConfigTests.edit(baseConfig, "\"hidden_act\": \"silu\"", "\"hidden_act\": \"gelu_pytorch_tanh\"")
        try TrustConfigTests.edit(
            family.model("rev").appendingPathComponent("config.json"), "\"hidden_act\": \"silu\"",
            "\"hidden_act\": \"gelu_python_tanh\"")
        let tanh = try MetaMergeProcess.run(["merge", try family.config().path, output.path])
        #expect(tanh.status == 0, "\(tanh.stderr)")

        try FileManager.default.removeItem(at: output)
        try TrustConfigTests.edit(addConfig, "\"hidden_act\": \"gelu_new\"", "\"hidden_act\": \"gelu\"")
        let gelu = try MetaMergeProcess.run(["merge", try family.config().path, output.path])
        #expect(gelu.status == 2)
        #expect(gelu.stderr.contains("hidden_act = gelu, but"), "\(gelu.stderr)")
        #expect(!FileManager.default.fileExists(atPath: output.path))
    }
}
