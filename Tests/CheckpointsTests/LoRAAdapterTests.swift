import Foundation
import SafeTensors
import TestSupport
import Testing

@testable import Checkpoints

/// Reading PEFT LoRA adapters (issue 20, item 1). Scales and ranks are PEFT 0.21.2's own (`module.scaling`,
/// `module.r` of the PeftModel loaded from Tests/Fixtures/lora/adapters); pattern matches are Python's
/// `re.match(rf"(.*\.)?({key})$", module)`.
@Suite("LoRA adapters: config, factor names, scales, refusals")
struct LoRAAdapterTests {
    static let adapters = RepositoryPaths.fixtures.appendingPathComponent("lora/adapters")

    @Test(arguments: [
        ("patterns", "model.layers.1.self_attn.q_proj", 6, 1.3333333333333333),
        ("patterns", "model.layers.1.self_attn.k_proj", 4, 2.0),
        ("patterns", "model.layers.1.self_attn.v_proj", 4, 0.75),
        ("patterns", "model.layers.1.mlp.down_proj", 2, 4.0),
        ("rslora", "model.layers.1.self_attn.q_proj", 8, 2.82842712474619),
        ("infix", "model.layers.1.self_attn.o_proj", 4, 2.0),
    ])
    func ranksAndScalesArePEFTs(adapter: String, module: String, rank: Int, scale: Double) throws {
        let lora = try LoRAAdapter(directory: Self.adapters.appendingPathComponent(adapter))
        let factors = try #require(try lora.factors(for: module + ".weight"))
        #expect(factors.rank == rank)
        #expect(factors.scale == Float(scale))
        #expect(factors.a.count == rank * (module.hasSuffix("down_proj") ? 176 : 64))
    }

    @Test func adaptedTensorsAreTheTargetedModules() throws {
        let attention = try LoRAAdapter(directory: Self.adapters.appendingPathComponent("r4-attn"))
        #expect(attention.adaptedTensorNames.count == 16)
        #expect(attention.adaptedTensorNames.allSatisfy { $0.contains(".self_attn.") && $0.hasSuffix("_proj.weight") })
        #expect(try attention.factors(for: "model.layers.0.mlp.up_proj.weight") == nil)
        let all = try LoRAAdapter(directory: Self.adapters.appendingPathComponent("r8-all"))
        #expect(all.adaptedTensorNames.count == 28)
        #expect(all.updateShape(for: "model.layers.0.mlp.down_proj.weight") == [64, 176])
        let regex = try LoRAAdapter(directory: Self.adapters.appendingPathComponent("rslora"))
        #expect(regex.adaptedTensorNames.count == 8)
    }

    @Test(arguments: [
        ("mlp.down_proj", "model.layers.0.mlp.down_proj", true),
        ("down_proj", "model.layers.0.mlp.xdown_proj", false),
        ("layers.1.self_attn.q_proj", "model.layers.11.self_attn.q_proj", false),
        ("layers.1.self_attn.q_proj", "model.layers.1.self_attn.q_proj", true),
        ("v_proj", "v_proj", true),
        ("q_proj|k_proj", "model.layers.2.self_attn.k_proj", true),
        ("proj", "model.layers.0.mlp.down_proj", false),
    ])
    func patternKeysMatchAsPEFT(key: String, module: String, expected: Bool) {
        #expect(LoRAPattern.matches(key, module) == expected)
    }

    @Test(arguments: [
        ("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", "model.layers.0.self_attn.q_proj", true),
        ("base_model.model.model.layers.0.mlp.up_proj.lora_B.default.weight", "model.layers.0.mlp.up_proj", false),
    ])
    func factorNamesWithAndWithoutTheAdapterName(name: String, module: String, isA: Bool) throws {
        let parsed = try #require(LoRAAdapter.parseFactorName(name, url: URL(fileURLWithPath: "/x")))
        #expect(parsed.module == module)
        #expect(parsed.isA == isA)
    }

    @Test(arguments: [
        (
            "base_model.model.model.embed_tokens.lora_embedding_A", [4, 36],
            "tensor 'base_model.model.model.embed_tokens.lora_embedding_A': is not a LoRA factor"
        ),
        (
            "base_model.model.model.layers.0.self_attn.q_proj.lora_magnitude_vector", [64],
            "tensor 'base_model.model.model.layers.0.self_attn.q_proj.lora_magnitude_vector': is not a LoRA factor"
        ),
    ])
    func tensorsThatAreNotFactorsAreRefused(name: String, shape: [Int], expected: String) throws {
        let folder = try makeTemporaryDirectory("lora-unit")
        let builder = try ModelDirectoryBuilder(folder)
        try builder.writeText(
            "adapter_config.json", #"{"peft_type": "LORA", "r": 4, "lora_alpha": 8, "target_modules": ["q_proj"]}"#)
        try builder.write(
            "adapter_model.safetensors",
            [
                ("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", [4, 64]),
                ("base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight", [64, 4]), (name, shape),
            ])
        let error = #expect(throws: CheckpointError.self) { try LoRAAdapter(directory: folder) }
        #expect(error?.description.hasPrefix(folder.appendingPathComponent("adapter_model.safetensors").path) == true)
        #expect(error?.description.contains(expected) == true, "\(String(describing: error))")
    }

    @Test(arguments: [
        (#""layers_to_transform": [0]"#, "key 'layers_to_transform': is set"),
        (#""r": 8"#, "lora_A is [4, 64], lora_B is [64, 4]; expected [8, in] and [out, 8]"),
        (#""target_modules": ["k_proj"]"#, "module 'model.layers.0.self_attn.q_proj' is not matched by target_modules"),
        (#""use_dora": true"#, "key 'use_dora': is true"),
    ])
    func configKeysThatChangeTheMathsAreRefused(extra: String, expected: String) throws {
        let folder = try makeTemporaryDirectory("lora-unit")
        let builder = try ModelDirectoryBuilder(folder)
        var keys = [#""peft_type": "LORA""#, #""r": 4"#, #""lora_alpha": 8"#, #""target_modules": ["q_proj"]"#]
        let name = extra.split(separator: ":")[0]
        keys.removeAll { $0.hasPrefix(name + ":") }
        try builder.writeText("adapter_config.json", "{" + (keys + [extra]).joined(separator: ", ") + "}")
        try builder.write(
            "adapter_model.safetensors",
            [
                ("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", [4, 64]),
                ("base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight", [64, 4]),
            ])
        let error = #expect(throws: CheckpointError.self) { try LoRAAdapter(directory: folder) }
        #expect(error?.description.contains(expected) == true, "\(String(describing: error))")
    }
}
