import Checkpoints
import Foundation
import SafeTensors
import TestSupport
import Testing

@Suite("ModelWriter: shards, index, atomic output")
struct ModelWriterTests {
    static let entries: [ModelWriter.Entry] = [
        .init(name: "model.embed_tokens.weight", dtype: .f32, shape: [10, 10]),  // 400 B
        .init(name: "model.layers.0.w", dtype: .bf16, shape: [100]),  // 200 B
        .init(name: "model.layers.1.w", dtype: .f32, shape: [50]),  // 200 B
        .init(name: "lm_head.weight", dtype: .f16, shape: [10, 10]),  // 200 B
    ]

    func writeAll(_ writer: ModelWriter) throws {
        while let entry = writer.nextEntry {
            let count = entry.shape.reduce(1, *)
            let values = (0..<count).map { Float($0) * 0.5 }
            // Two chunks, to exercise streaming.
            try values.withUnsafeBufferPointer { all in
                try writer.append(entry.name, float32: UnsafeBufferPointer(rebasing: all[0..<count / 2]))
                try writer.append(entry.name, float32: UnsafeBufferPointer(rebasing: all[(count / 2)...]))
            }
        }
    }

    @Test func shardedRoundTripWithIndex() throws {
        let root = try makeTemporaryDirectory("writer")
        let source = try ModelDirectoryBuilder(root.appendingPathComponent("source"))
        try Data("{}".utf8).write(to: source.directory.appendingPathComponent("tokenizer.json"))
        let out = root.appendingPathComponent("merged")
        let writer = try ModelWriter(destination: out, entries: Self.entries, shardSize: ByteSize(bytes: 450))
        // 400 | 200 + 200 | 200: a new shard starts when the next tensor would pass 450 bytes.
        #expect(writer.shards.map { $0.entries.count } == [1, 2, 1])
        try writeAll(writer)
        try writer.copySupportFiles(from: source.directory)
        try writer.commit()

        let files = try FileManager.default.contentsOfDirectory(atPath: out.path).sorted()
        #expect(
            files == [
                ".metamerge-manifest.json", "config.json", "model-00001-of-00003.safetensors",
                "model-00002-of-00003.safetensors", "model-00003-of-00003.safetensors", "model.safetensors.index.json",
                "tokenizer.json",
            ])
        let index =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: out.appendingPathComponent("model.safetensors.index.json"))) as! [String: Any]
        #expect((index["metadata"] as! [String: Any])["total_size"] as! Int == 1000)
        #expect((index["weight_map"] as! [String: String]).count == 4)
        let checkpoint = try Checkpoint(directory: out)
        for entry in Self.entries {
            let count = entry.shape.reduce(1, *)
            #expect(try checkpoint.readFloat32(entry.name) == (0..<count).map { Float($0) * 0.5 })
            #expect(checkpoint.info(entry.name)?.dtype == entry.dtype)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: root.path).sorted() == ["merged", "source"])
    }

    @Test func singleShardIsModelSafetensors() throws {
        let root = try makeTemporaryDirectory("writer")
        let out = root.appendingPathComponent("merged")
        let writer = try ModelWriter(destination: out, entries: Self.entries)
        try writeAll(writer)
        try writer.commit()
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: out.path).sorted()
                == [".metamerge-manifest.json", "model.safetensors"])
    }

    /// An interrupted write (a throw mid-way) leaves nothing under the final name and no temporary directory.
    @Test func interruptedWriteLeavesNothing() throws {
        let root = try makeTemporaryDirectory("writer")
        let out = root.appendingPathComponent("merged")
        struct Interrupted: Error {}
        func run() throws {
            let writer = try ModelWriter(destination: out, entries: Self.entries, shardSize: ByteSize(bytes: 450))
            let values = [Float](repeating: 1, count: 100)
            try values.withUnsafeBufferPointer { try writer.append("model.embed_tokens.weight", float32: $0) }
            throw Interrupted()
        }
        #expect(throws: Interrupted.self) { try run() }
        #expect(!FileManager.default.fileExists(atPath: out.path))
        #expect(try FileManager.default.contentsOfDirectory(atPath: root.path).isEmpty)
    }

    @Test func commitBeforeAllTensorsIsRefused() throws {
        let root = try makeTemporaryDirectory("writer")
        let out = root.appendingPathComponent("merged")
        let writer = try ModelWriter(destination: out, entries: Self.entries)
        #expect(throws: CheckpointError.self) { try writer.commit() }
        #expect(!FileManager.default.fileExists(atPath: out.path))
        #expect(throws: CheckpointError.self) {
            try [Float(1)].withUnsafeBufferPointer { try writer.append("not.planned", float32: $0) }
        }
    }

    @Test func existingDestinationIsRefused() throws {
        let root = try makeTemporaryDirectory("writer")
        #expect(throws: CheckpointError.self) { try ModelWriter(destination: root, entries: Self.entries) }
    }

    @Test(arguments: [
        ("5GB", 5_000_000_000), ("500MB", 500_000_000), ("2GB", 2_000_000_000), ("5B", 5_000_000_000),
        ("1.5G", 1_500_000_000), ("4GiB", 4_294_967_296), ("800M", 800_000_000), ("1000", 1000),
    ])
    func byteSizes(text: String, bytes: Int) {
        #expect(ByteSize(parsing: text)?.bytes == bytes)
    }

    @Test(arguments: ["", "GB", "-5GB", "5XB", "0"])
    func badByteSizes(text: String) {
        #expect(ByteSize(parsing: text) == nil)
    }
}
