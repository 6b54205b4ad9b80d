import Checkpoints
import Foundation
import Testing
import Transformer

@Suite("Weight providers")
struct WeightProviderTests {
    static func checkpoint(_ set: String, _ model: String) throws -> Checkpoint {
        try Checkpoint(directory: ReferenceSet.directory.appendingPathComponent(set).appendingPathComponent(model))
    }

    @Test("aligned Float32 tensors are lent in place; BF16 ones are converted into the scratch buffer")
    func zeroCopy() throws {
        let name = "model.layers.1.mlp.down_proj.weight"
        for (set, inPlace) in [("llama-bias", true), ("qwen2-gqa", false)] {
            let weights = CheckpointWeights(try Self.checkpoint(set, "base"))
            let count = try #require(weights.shape(of: name)).reduce(1, *)
            let expected = try weights.load(name)
            var scratch = [Float](repeating: .nan, count: count)
            try scratch.withUnsafeMutableBufferPointer { scratch in
                try weights.withFloat32(name, elements: 0..<count, scratch: scratch) { lent in
                    #expect((lent.baseAddress == UnsafePointer(scratch.baseAddress)) == !inPlace, "\(set)")
                    #expect(Array(lent) == expected)
                }
            }
        }
    }

    @Test("θ0 + c·(θt − θ0) element by element, in Float32, on any sub-range")
    func combination() throws {
        let base = try Self.checkpoint("qwen2-gqa", "base")
        let taskA = try Self.checkpoint("qwen2-gqa", "task_a")
        let taskB = try Self.checkpoint("qwen2-gqa", "task_b")
        // BF16 tensors within one chunk; ranges across chunk boundaries are checked by `chunkBoundaries`.
        for tensor in ["model.embed_tokens.weight", "model.layers.0.self_attn.q_proj.bias"] {
            let theta0 = try base.readFloat32(tensor)
            let thetaA = try taskA.readFloat32(tensor)
            let thetaB = try taskB.readFloat32(tensor)
            let combined = try CombinedWeights(base: base, tasks: [taskA, taskB], coefficients: [0.25, -1.5])
            let expected = (0..<theta0.count).map { i -> Float in
                var value = theta0[i]
                value += Float(0.25) * (thetaA[i] - theta0[i])
                value += Float(-1.5) * (thetaB[i] - theta0[i])
                return value
            }
            #expect(try combined.load(tensor) == expected)
            let range = 5..<(theta0.count - 3)
            var part = [Float](repeating: 0, count: range.count)
            try part.withUnsafeMutableBufferPointer { try combined.load(tensor, elements: range, into: $0) }
            #expect(part == Array(expected[range]))
            let none = try CombinedWeights(base: base, tasks: [taskA, taskB], coefficients: [0, 0])
            #expect(try none.load(tensor) == theta0)
        }
    }

    @Test("chunked combination across chunk boundaries equals the direct formula")
    func chunkBoundaries() throws {
        // A provider with one large synthetic tensor, so ranges cross CombinedWeights.chunkSize.
        struct Synthetic: WeightProvider {
            let offset: Float
            let count = 3 * CombinedWeights.chunkSize + 17
            func shape(of name: String) -> [Int]? { [count] }
            func load(_ name: String, elements: Range<Int>, into buffer: UnsafeMutableBufferPointer<Float>) throws {
                for (j, i) in elements.enumerated() { buffer[j] = Float(i % 977) * 0.001 + offset }
            }
        }
        let combined = try CombinedWeights(
            base: Synthetic(offset: 0), tasks: [Synthetic(offset: 2)], coefficients: [0.5])
        let range = (CombinedWeights.chunkSize - 5)..<(3 * CombinedWeights.chunkSize + 10)
        var out = [Float](repeating: 0, count: range.count)
        try out.withUnsafeMutableBufferPointer { try combined.load("t", elements: range, into: $0) }
        let expected = range.map { i -> Float in
            let theta0 = Float(i % 977) * 0.001
            return theta0 + Float(0.5) * ((theta0 + 2) - theta0)
        }
        #expect(out == expected)
    }
}
