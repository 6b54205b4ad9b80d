import Foundation
import Merging
import SafeTensors
import TestSupport

/// Small Llama-shaped model directories written by the tests, with values from a seeded generator, so that a
/// case can be built whose answer is known (zero bases, chosen deltas, mismatched vocabularies, tied heads).
struct SyntheticFamily {
    let root: URL

    struct Shape {
        var hidden = 8
        var intermediate = 16
        var layers = 2
        var vocab = 12
    }

    /// The tensor names and shapes of a Llama with `shape`, lm_head included unless `tied`.
    static func tensors(_ shape: Shape, tied: Bool = false) -> [(String, [Int])] {
        let h = shape.hidden, i = shape.intermediate
        var result: [(String, [Int])] = [("model.embed_tokens.weight", [shape.vocab, h])]
        for layer in 0..<shape.layers {
            let p = "model.layers.\(layer)."
            result += [
                (p + "input_layernorm.weight", [h]), (p + "post_attention_layernorm.weight", [h]),
                (p + "self_attn.q_proj.weight", [h, h]), (p + "self_attn.k_proj.weight", [h / 2, h]),
                (p + "self_attn.v_proj.weight", [h / 2, h]), (p + "self_attn.o_proj.weight", [h, h]),
                (p + "mlp.gate_proj.weight", [i, h]), (p + "mlp.up_proj.weight", [i, h]),
                (p + "mlp.down_proj.weight", [h, i]),
            ]
        }
        result.append(("model.norm.weight", [h]))
        if !tied { result.append(("lm_head.weight", [shape.vocab, h])) }
        return result
    }

    /// Writes a model directory: config.json, a tokenizer stub, and `model.safetensors` with `values(name, count)`.
    static func writeModel(
        _ directory: URL, shape: Shape, tied: Bool = false, dtype: DType = .f32,
        extraConfig: [String: Any] = [:], values: (String, Int) -> [Float]
    ) throws {
        var config: [String: Any] = [
            "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": shape.hidden,
            "intermediate_size": shape.intermediate, "num_hidden_layers": shape.layers, "num_attention_heads": 2,
            "num_key_value_heads": 1, "vocab_size": shape.vocab, "tie_word_embeddings": tied, "rms_norm_eps": 1e-6,
            "torch_dtype": "float32",
        ]
        config.merge(extraConfig) { $1 }
        let model = try ModelDirectoryBuilder(directory, config: config, sortedKeys: true)
        try model.writeText("tokenizer.json", Self.tokenizerJSON(vocab: shape.vocab))
        try model.writeText("tokenizer_config.json", "{\"tokenizer_class\": \"PreTrainedTokenizerFast\"}")
        try model.write("model.safetensors", Self.tensors(shape, tied: tied), dtype: dtype, values: values)
    }

    /// A WordLevel tokenizer.json stub whose vocabulary is `t0`…`t{vocab−1}` (`extra` adds fields).
    static func tokenizerJSON(vocab: Int, extra: String = "") -> String {
        let entries = (0..<vocab).map { "\"t\($0)\": \($0)" }.joined(separator: ", ")
        return "{\(extra)\"model\": {\"type\": \"WordLevel\", \"vocab\": {\(entries)}}, \"added_tokens\": []}"
    }

    static func defaultBase(_ name: String, _ count: Int) -> [Float] {
        Random.normals(seed: name.hashValue64, count, scale: 0.5)
    }

    static func defaultDelta(_ task: Int, _ name: String, _ count: Int) -> [Float] {
        Random.normals(seed: name.hashValue64 &+ UInt64(task) &* 7919, count, scale: 0.05)
    }

    /// A base and task models `t1`, `t2`, …: the base holds `base(name, count)`, task k the base plus
    /// `delta(k, name, count)` (a tied task's lm_head is its embedding; rows beyond the base's vocabulary get values
    /// of their own).
    static func make(
        _ label: String = "family", shape: Shape = Shape(), tasks: Int = 2, dtype: DType = .f32,
        tiedTasks: Set<Int> = [],
        taskVocab: [Int: Int] = [:], base: (String, Int) -> [Float] = defaultBase,
        delta: (Int, String, Int) -> [Float] = defaultDelta
    ) throws -> SyntheticFamily {
        let root = try makeTemporaryDirectory(label)
        try writeModel(root.appendingPathComponent("base"), shape: shape, dtype: dtype, values: base)
        for task in 1..<(tasks + 1) {
            var taskShape = shape
            taskShape.vocab = taskVocab[task] ?? shape.vocab
            let tied = tiedTasks.contains(task)
            try writeModel(root.appendingPathComponent("t\(task)"), shape: taskShape, tied: tied, dtype: dtype) {
                name, count in
                let baseCount = min(count, SyntheticFamily.baseCount(name, shape: shape, count: count))
                var values = base(name, baseCount)
                if count > baseCount { values += Random.normals(seed: 99, count - baseCount, scale: 0.5) }
                let d = delta(task, name, count)
                return zip(values, d).map { $0 + $1 }
            }
        }
        return SyntheticFamily(root: root)
    }

    private static func baseCount(_ name: String, shape: Shape, count: Int) -> Int {
        if name == "model.embed_tokens.weight" || name == "lm_head.weight" { return shape.vocab * shape.hidden }
        return count
    }

    func path(_ model: String) -> String { root.appendingPathComponent(model).path }

    /// Writes `yaml` as `merge.yml` in the family's folder (so `./t1` etc. resolve) and parses it.
    func configuration(_ yaml: String, named name: String = "merge.yml") throws -> MergeConfiguration {
        let url = root.appendingPathComponent(name)
        try Data(yaml.utf8).write(to: url)
        return try MergeConfiguration.load(contentsOf: url)
    }

    func output(_ name: String = "out") -> URL { root.appendingPathComponent(name) }
}

/// SplitMix64 values for test data (not the library's generator).
struct Random {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func uniform() -> Double { Double(next() >> 11) / 9_007_199_254_740_992.0 }

    /// `count` values from a fresh generator seeded with `seed`.
    static func normals(seed: UInt64, _ count: Int, scale: Float) -> [Float] {
        var random = Random(seed: seed)
        return random.normals(count, scale: scale)
    }

    /// Approximately normal values (sum of four uniforms, centred), times `scale`.
    mutating func normals(_ count: Int, scale: Float) -> [Float] {
        (0..<count).map { _ in Float((uniform() + uniform() + uniform() + uniform() - 2) * 1.7) * scale }
    }
}

extension String {
    /// A stable 64-bit hash (FNV-1a), unlike `hashValue`.
    var hashValue64: UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return hash
    }
}

/// Reads every tensor of a model directory's single `model.safetensors` (or shards) as Float32.
func readModel(_ directory: URL) throws -> [String: [Float]] {
    let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter {
        $0.hasSuffix(".safetensors")
    }
    var result: [String: [Float]] = [:]
    for file in files {
        let st = try SafeTensorsFile(url: directory.appendingPathComponent(file))
        for info in st.tensors {
            var values = [Float](repeating: 0, count: info.elementCount)
            try values.withUnsafeMutableBufferPointer { try st.readFloat32(info.name, into: $0) }
            result[info.name] = values
        }
    }
    return result
}
