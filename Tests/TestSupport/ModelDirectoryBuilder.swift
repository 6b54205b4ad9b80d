import Foundation
import SafeTensors

/// Writes small model directories for tests — config.json, safetensors files, an index, tokenizer files — the one
/// helper every test target's model fixtures (`SyntheticFamily`, the checkpoint tests) write through.
public struct ModelDirectoryBuilder {
    public let directory: URL

    /// Creates `directory` and writes `config` as its config.json (keys sorted with `sortedKeys`).
    public init(
        _ directory: URL, config: [String: Any] = ["architectures": ["LlamaForCausalLM"], "num_hidden_layers": 2],
        sortedKeys: Bool = false
    ) throws {
        self.directory = directory
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try JSONSerialization.data(withJSONObject: config, options: sortedKeys ? [.sortedKeys] : []).write(
            to: directory.appendingPathComponent("config.json"))
    }

    /// Writes `tensors` (name → shape, stored as `dtype`) to `file`; tensor `name` of n elements holds
    /// `values(name, n)`, given as Float32.
    @discardableResult
    public func write(
        _ file: String, _ tensors: [(String, [Int])], dtype: DType = .f32, values: (String, Int) -> [Float]
    ) throws -> URL {
        let url = directory.appendingPathComponent(file)
        let writer = try SafeTensorsWriter(url: url, tensors: tensors.map { ($0.0, dtype, $0.1) })
        for info in writer.tensors {
            let data = values(info.name, info.elementCount)
            try data.withUnsafeBufferPointer { try writer.append(info.name, float32: $0) }
        }
        try writer.finish()
        return url
    }

    /// Writes `tensors` (name → shape) to `file`; values are `seed + index`, known by construction.
    @discardableResult
    public func write(_ file: String, _ tensors: [(String, [Int])], seed: Float = 0, dtype: DType = .f32) throws -> URL
    {
        try write(file, tensors, dtype: dtype) { Self.values(count: $1, seed: seed) }
    }

    public static func values(count: Int, seed: Float) -> [Float] {
        (0..<count).map { seed + Float($0) }
    }

    /// Writes `model.safetensors.index.json` with `weightMap` (tensor → shard file).
    public func writeIndex(_ weightMap: [String: String]) throws {
        let object: [String: Any] = ["metadata": ["total_size": 0], "weight_map": weightMap]
        try JSONSerialization.data(withJSONObject: object)
            .write(to: directory.appendingPathComponent("model.safetensors.index.json"))
    }

    /// Writes `text` to the file `name` of the directory (a tokenizer.json, a tokenizer_config.json, …).
    public func writeText(_ name: String, _ text: String) throws {
        try Data(text.utf8).write(to: directory.appendingPathComponent(name))
    }
}
