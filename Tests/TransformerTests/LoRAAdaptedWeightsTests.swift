import Checkpoints
import Foundation
import SafeTensors
import TestSupport
import Testing
import Transformer

/// ``AdaptedWeights`` (W0 + s·B·A formed per read range, whole rows with one `sgemm`) against PEFT's
/// `merge_and_unload()` (scripts/fixtures/make_lora_fixtures.py → Tests/Fixtures/lora/merged/*.safetensors), on read
/// ranges that start and end inside a row, span one row only, or cover the whole tensor.
@Suite("LoRA adapted weights: ranges against PEFT merge_and_unload()")
struct LoRAAdaptedWeightsTests {
    static let lora = RepositoryPaths.fixtures.appendingPathComponent("lora")

    /// Every adapted tensor of r8-all (B·A, all linear layers of the tiny Llama) and gpt2-conv1d (fan_in_fan_out:
    /// (B·A)ᵀ on GPT-2's Conv1D layers), read whole and in awkward ranges: within 1e-6 of PEFT's merged values.
    @Test(arguments: ["r8-all", "gpt2-conv1d"])
    func rangesMatchPEFTMergeAndUnload(adapter: String) throws {
        let baseURL =
            adapter.hasPrefix("gpt2")
            ? RepositoryPaths.fixtures.appendingPathComponent("architectures/gpt2/base")
            : RepositoryPaths.tinyFamily.appendingPathComponent("base")
        let weights = AdaptedWeights(
            base: try Checkpoint(directory: baseURL),
            adapter: try LoRAAdapter(directory: Self.lora.appendingPathComponent("adapters/\(adapter)")))
        let merged = try SafeTensorsFile(url: Self.lora.appendingPathComponent("merged/\(adapter).safetensors"))
        var checked = 0
        for name in weights.adapter.adaptedTensorNames {
            let shape = try #require(weights.shape(of: name))
            let columns = shape[1], count = shape.reduce(1, *)
            let expected = try merged.readFloat32Array(name)
            try #require(expected.count == count)
            let ranges = [
                0..<count, 3..<(count - 5), (columns + 1)..<(3 * columns - 2), 2..<(columns - 1),
                (columns - 2)..<(columns + 3),
            ]
            for range in ranges where !range.isEmpty {
                var values = [Float](repeating: .nan, count: range.count)
                try values.withUnsafeMutableBufferPointer { try weights.load(name, elements: range, into: $0) }
                let worst = zip(values, expected[range]).map { abs($0 - $1) }.max() ?? .nan
                #expect(worst <= 1e-6, "\(name) \(range): \(worst)")
            }
            checked += 1
        }
        #expect(checked > 0)
    }
}

extension SafeTensorsFile {
    /// Tensor `name` as Float32.
    fileprivate func readFloat32Array(_ name: String) throws -> [Float] {
        let count = info(name)?.elementCount ?? 0
        return try [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            try readFloat32(name, into: UnsafeMutableBufferPointer(rebasing: buffer[0..<count]))
            initialized = count
        }
    }
}
