import Checkpoints
import Foundation

/// `Checkpoint(directory:)` on a model directory whose `model.safetensors.index.json` is the input.
///
/// The directory also holds a valid config.json and two one-tensor shards, `model-00001-of-00002.safetensors`
/// (tensor `a`) and `model-00002-of-00002.safetensors` (tensor `b`), so an index that names them opens a
/// checkpoint, and one that names anything else exercises the fallbacks (missing shards, unsafe names).
struct IndexJSONHarness: Harness {
    let directory: URL
    let index: URL

    init() {
        directory = scratchDirectory.appendingPathComponent("index-model")
        index = directory.appendingPathComponent("model.safetensors.index.json")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        overwrite(
            directory.appendingPathComponent("config.json"),
            with: Array(#"{"architectures": ["LlamaForCausalLM"], "model_type": "llama"}"#.utf8))
        for (shard, tensor) in [("model-00001-of-00002.safetensors", "a"), ("model-00002-of-00002.safetensors", "b")] {
            overwrite(directory.appendingPathComponent(shard), with: Self.oneTensorFile(tensor))
        }
    }

    /// A safetensors file holding one F32 tensor of shape [1], value 1.
    static func oneTensorFile(_ name: String) -> [UInt8] {
        let header = Array(#"{"\#(name)":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#.utf8)
        var file = withUnsafeBytes(of: UInt64(header.count).littleEndian) { Array($0) }
        file += header
        withUnsafeBytes(of: Float(1).bitPattern.littleEndian) { file.append(contentsOf: $0) }
        return file
    }

    func run(_ bytes: UnsafeRawBufferPointer) {
        overwrite(index, with: bytes)
        do {
            let checkpoint = try Checkpoint(directory: directory)
            blackHole(checkpoint.notes)
            for name in checkpoint.tensorNames {
                blackHole(checkpoint.info(name))
                blackHole(try checkpoint.readFloat32(name))
            }
        } catch {
            render(error)
        }
    }
}
