import Checkpoints
import Foundation
import SafeTensors
import TestSupport
import Transformer

/// A `references.safetensors` written by `scripts/fixtures/make_transformer_fixtures.py`: transformers' float32
/// logits and final hidden states for θ0 + Σ c_t (θ_t − θ0) on committed prompts.
struct ReferenceSet {
    struct Case: Decodable {
        let name: String
        let coefficients: [Float]
    }

    let name: String
    let file: SafeTensorsFile
    let prompts: [[Int]]
    let cases: [Case]
    let base: Checkpoint
    let tasks: [Checkpoint]

    static let directory = RepositoryPaths.fixtures.appendingPathComponent("transformer")

    /// The config.json of set `name`'s base model, as Checkpoints reads it.
    static func baseConfigJSON(_ name: String) throws -> [String: JSONValue] {
        try Checkpoint(directory: directory.appendingPathComponent(name).appendingPathComponent("base")).config.json
    }

    static func url(_ name: String) -> URL {
        directory.appendingPathComponent(name).appendingPathComponent("references.safetensors")
    }

    /// Whether the references and every model they name are present (the bundled family arrives separately).
    static func isAvailable(_ name: String) -> Bool {
        guard let file = try? SafeTensorsFile(url: url(name)), let models = file.metadata["models"],
            let paths = try? JSONDecoder().decode([String].self, from: Data(models.utf8))
        else { return false }
        return paths.allSatisfy {
            FileManager.default.fileExists(
                atPath: RepositoryPaths.root.appendingPathComponent($0).appendingPathComponent("config.json").path)
        }
    }

    init(_ name: String) throws {
        self.name = name
        let file = try SafeTensorsFile(url: Self.url(name))
        self.file = file
        func decode<T: Decodable>(_ key: String, as type: T.Type) throws -> T {
            guard let text = file.metadata[key] else { throw FixtureError("\(name): no metadata \(key)") }
            return try JSONDecoder().decode(T.self, from: Data(text.utf8))
        }
        prompts = try decode("prompts", as: [[Int]].self)
        cases = try decode("cases", as: [Case].self)
        let models = try decode("models", as: [String].self).map {
            try Checkpoint(directory: RepositoryPaths.root.appendingPathComponent($0))
        }
        base = models[0]
        tasks = Array(models.dropFirst())
    }

    func tensor(_ key: String) throws -> [Float] {
        guard let info = file.info(key) else { throw FixtureError("\(name): no reference tensor \(key)") }
        return try [Float](unsafeUninitializedCapacity: info.elementCount) { buffer, count in
            try file.readFloat32(key, into: buffer)
            count = info.elementCount
        }
    }
}

struct FixtureError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// max |a_i − b_i|, or +∞ when the counts differ (so a wrong shape can never pass a tolerance check).
func maxAbsoluteDifference<A: Collection<Float>, B: Collection<Float>>(_ a: A, _ b: B) -> Float {
    guard a.count == b.count else { return .infinity }
    var worst: Float = 0
    for (x, y) in zip(a, b) {
        let difference = abs(x - y)
        if !(difference <= worst) { worst = difference.isNaN ? .infinity : difference }
    }
    return worst
}
