import Foundation
import TestSupport
import Testing

/// A LoRA adapter on the output projection of a base whose `lm_head` is tied to its embedding (issue 20): PEFT 0.21
/// gives no one model for it (running the adapter changes the output only; `merge_and_unload()` changes the shared
/// tensor, input embedding included: scripts/fixtures/make_lora_tied_head.py prints by how much), so every command
/// refuses it with one line naming the adapter file, the tensor and the reason. PEFT's own adapter file holds a copy
/// of the head (`lm_head.base_layer.weight`, `save_embedding_layers`), which is where the refusal starts; before, the
/// message called it "not a LoRA factor" only.
@Suite("LoRA on a tied lm_head")
struct LoRATiedHeadTests {
    static let base = RepositoryPaths.fixtures.appendingPathComponent("architectures/gpt2/base")
    static let adapter = RepositoryPaths.fixtures.appendingPathComponent("lora/adapters/gpt2-tied-head")
    static let factorsOnly = RepositoryPaths.fixtures.appendingPathComponent("lora/adapters/gpt2-tied-head-factors")

    /// The adapter as PEFT saves it by default, with its copy of the head: refused at that tensor.
    @Test(arguments: ["analyze", "merge", "eval"])
    func anAdapterOnATiedHeadIsRefusedWithTheReason(command: String) throws {
        let work = try makeTemporaryDirectory("lora-tied-head")
        let output = work.appendingPathComponent("out")
        let arguments: [String]
        switch command {
        case "analyze":
            arguments = ["analyze", "--base", Self.base.path, "--model", "t=\(Self.adapter.path)", "-o", output.path]
        case "merge":
            let config = work.appendingPathComponent("merge.yml")
            let model = "\(Self.base.path)+\(Self.adapter.path)"
            try Data("merge_method: linear\nmodels:\n  - model: \(model)\n    parameters: {weight: 1.0}\n".utf8)
                .write(to: config)
            arguments = ["merge", config.path, output.path]
        default:
            let task = work.appendingPathComponent("t.jsonl")
            try Data(#"{"prompt": "a", "completion": "b"}"#.utf8).write(to: task)
            arguments = ["eval", "\(Self.base.path)+\(Self.adapter.path)", "--task", "t=\(task.path)"]
        }
        let result = try MetaMergeProcess.run(arguments)
        #expect(result.status == 2, "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
        let file = Self.adapter.appendingPathComponent("adapter_model.safetensors").path
        #expect(result.stderr.contains(file), "\(result.stderr)")
        let reason =
            "tensor 'base_model.model.lm_head.base_layer.weight': is a copy of the module's base weight, which PEFT "
            + "saves when LoRA targets the output projection"
        #expect(result.stderr.contains(reason), "\(result.stderr)")
        #expect(result.stderr.contains("tied to its embedding PEFT gives no one model"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: output.path))
    }

    /// The same adapter saved with `save_embedding_layers=False` (its factors only): refused against the tied base,
    /// naming the module and the base, in a family and in a merge.
    @Test(arguments: ["analyze", "merge"])
    func factorsOnATiedHeadAreRefusedAgainstTheBase(command: String) throws {
        let work = try makeTemporaryDirectory("lora-tied-factors")
        let output = work.appendingPathComponent("out")
        var arguments = [
            "analyze", "--base", Self.base.path, "--model", "t=\(Self.factorsOnly.path)", "-o", output.path,
        ]
        if command == "merge" {
            let config = work.appendingPathComponent("merge.yml")
            let model = "\(Self.base.path)+\(Self.factorsOnly.path)"
            try Data("merge_method: linear\nmodels:\n  - model: \(model)\n    parameters: {weight: 1.0}\n".utf8)
                .write(to: config)
            arguments = ["merge", config.path, output.path]
        }
        let result = try MetaMergeProcess.run(arguments)
        #expect(result.status == 2, "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
        let file = Self.factorsOnly.appendingPathComponent("adapter_model.safetensors").path
        let reason =
            "module 'lm_head' adapts the output projection, which the base \(Self.base.path) ties to its embedding"
        #expect(result.stderr.contains(file) && result.stderr.contains(reason), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: output.path))
    }
}
