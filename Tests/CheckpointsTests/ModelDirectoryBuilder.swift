import Foundation
import SafeTensors

/// Builds small model directories for tests: config.json plus safetensors files whose values are known by
/// construction (tensor k holds k·1000 + element index).
struct ModelDirectoryBuilder {
    let directory: URL

    init(
        _ directory: URL, config: [String: Any] = ["architectures": ["LlamaForCausalLM"], "num_hidden_layers": 2]
    ) throws {
        self.directory = directory
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try JSONSerialization.data(withJSONObject: config).write(to: directory.appendingPathComponent("config.json"))
    }

    /// Writes `tensors` (name → shape, F32) to `file`; values are `seed + index`.
    @discardableResult
    func write(_ file: String, _ tensors: [(String, [Int])], seed: Float = 0, dtype: DType = .f32) throws -> URL {
        let url = directory.appendingPathComponent(file)
        let writer = try SafeTensorsWriter(url: url, tensors: tensors.map { ($0.0, dtype, $0.1) })
        for name in writer.tensors.map(\.name) {
            let shape = tensors.first { $0.0 == name }!.1
            let values = Self.values(count: shape.reduce(1, *), seed: seed)
            try values.withUnsafeBufferPointer { try writer.append(name, float32: $0) }
        }
        try writer.finish()
        return url
    }

    static func values(count: Int, seed: Float) -> [Float] {
        (0..<count).map { seed + Float($0) }
    }

    func writeIndex(_ weightMap: [String: String]) throws {
        let object: [String: Any] = ["metadata": ["total_size": 0], "weight_map": weightMap]
        try JSONSerialization.data(withJSONObject: object)
            .write(to: directory.appendingPathComponent("model.safetensors.index.json"))
    }
}
