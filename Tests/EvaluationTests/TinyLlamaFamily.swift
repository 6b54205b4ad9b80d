import Checkpoints
import Foundation
import SafeTensors
import TestSupport

/// A tiny random Llama (hidden 16, 2 layers, 2 heads, 1 KV head, vocab 24, untied lm_head) and task models made
/// by perturbing chosen tensors, for probe tests whose answer is known from the architecture.
enum TinyLlamaFamily {
    static var config: [String: Any] {
        [
            "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 16, "intermediate_size": 32,
            "num_hidden_layers": 2, "num_attention_heads": 2, "num_key_value_heads": 1, "vocab_size": 24,
            "max_position_embeddings": 32, "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "hidden_act": "silu",
            "tie_word_embeddings": false,
        ]
    }

    static func shapes() -> [String: [Int]] {
        var shapes: [String: [Int]] = [
            "model.embed_tokens.weight": [24, 16], "model.norm.weight": [16], "lm_head.weight": [24, 16],
        ]
        for layer in 0..<2 {
            let p = "model.layers.\(layer)."
            shapes[p + "input_layernorm.weight"] = [16]
            shapes[p + "post_attention_layernorm.weight"] = [16]
            shapes[p + "self_attn.q_proj.weight"] = [16, 16]
            shapes[p + "self_attn.k_proj.weight"] = [8, 16]
            shapes[p + "self_attn.v_proj.weight"] = [8, 16]
            shapes[p + "self_attn.o_proj.weight"] = [16, 16]
            shapes[p + "mlp.gate_proj.weight"] = [32, 16]
            shapes[p + "mlp.up_proj.weight"] = [32, 16]
            shapes[p + "mlp.down_proj.weight"] = [16, 32]
        }
        return shapes
    }

    /// A deterministic generator (SplitMix64) of values in [−scale, scale).
    struct Noise {
        var state: UInt64
        mutating func next(_ scale: Float) -> Float {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            return (Float(z >> 40) / Float(1 << 24) * 2 - 1) * scale
        }
    }

    static func base(seed: UInt64 = 1) -> [String: [Float]] {
        var noise = Noise(state: seed)
        var values: [String: [Float]] = [:]
        for (name, shape) in shapes().sorted(by: { $0.key < $1.key }) {
            let count = shape.reduce(1, *)
            values[name] =
                name.hasSuffix("norm.weight")
                ? (0..<count).map { _ in 1 + noise.next(0.1) } : (0..<count).map { _ in noise.next(0.4) }
        }
        return values
    }

    /// Writes base + one task per entry of `perturbed`: task t adds noise of `scale` to the tensors whose names
    /// contain any of `perturbed[t]`.
    static func make(perturbed: [[String]], scale: Float) throws -> ModelFamily {
        let root = try makeTemporaryDirectory("tinyllama")
        let base = base()
        try write(root.appendingPathComponent("base"), base)
        var members: [ModelFamily.Member] = []
        for (t, patterns) in perturbed.enumerated() {
            var noise = Noise(state: 1000 + UInt64(t))
            var values = base
            for (name, tensor) in base.sorted(by: { $0.key < $1.key })
            where patterns.contains(where: { name.contains($0) }) {
                values[name] = tensor.map { $0 + noise.next(scale) }
            }
            let directory = root.appendingPathComponent("task\(t)")
            try write(directory, values)
            members.append(.init(name: "task\(t)", checkpoint: try Checkpoint(directory: directory)))
        }
        return try ModelFamily(base: Checkpoint(directory: root.appendingPathComponent("base")), tasks: members)
    }

    /// Writes a model directory: ``config`` as config.json and `values` as F32 tensors of ``shapes()``.
    static func write(_ directory: URL, _ values: [String: [Float]]) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try JSONSerialization.data(withJSONObject: config).write(to: directory.appendingPathComponent("config.json"))
        let shapes = shapes()
        let writer = try SafeTensorsWriter(
            url: directory.appendingPathComponent("model.safetensors"),
            tensors: shapes.keys.sorted().map { ($0, DType.f32, shapes[$0]!) })
        for info in writer.tensors {
            try values[info.name]!.withUnsafeBufferPointer { try writer.append(info.name, float32: $0) }
        }
        try writer.finish()
    }
}
