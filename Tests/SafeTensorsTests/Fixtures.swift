import Foundation
import SafeTensors
import TestSupport
import Testing

/// The fixtures written by `scripts/fixtures/make_safetensors_fixtures.py` with the real `safetensors` package.
enum Fixtures {
    static let directory = RepositoryPaths.fixtures.appendingPathComponent("safetensors")
    static let referenceDirectory = directory.appendingPathComponent("reference")
    static let malformedDirectory = directory.appendingPathComponent("malformed")

    // MARK: expected.json

    struct Expected: Decodable {
        let files: [String: File]

        struct File: Decodable {
            let metadata: [String: String]
            let header_length: Int
            let tensors: [String: Tensor]
            let data_order: [String]?
        }

        struct Tensor: Decodable {
            let dtype: String
            let shape: [Int]
            let data_offsets: [Int]
            let hex: String
            let float32_bits: [UInt32]?
        }
    }

    static let expected: Expected = load("expected.json", in: directory)

    /// One tensor of one reference file, as a test argument.
    struct ReferenceTensor: Sendable, CustomTestStringConvertible {
        let file: String
        let name: String
        var testDescription: String { "\(file) · \(name.debugDescription)" }
        var url: URL { referenceDirectory.appendingPathComponent(file) }
        var expected: Expected.Tensor { Fixtures.expected.files[file]!.tensors[name]! }
    }

    static var referenceTensors: [ReferenceTensor] {
        expected.files.keys.sorted().flatMap { file in
            expected.files[file]!.tensors.keys.sorted().map { ReferenceTensor(file: file, name: $0) }
        }
    }

    static var referenceFiles: [String] { expected.files.keys.sorted() }

    // MARK: malformed/manifest.json

    struct Manifest: Decodable {
        let safetensors_version: String
        let cases: [Case]
    }

    /// One corpus file: what it holds, what safetensors 0.8 did with it, and what this reader must do.
    struct CorpusCase: Decodable, Sendable, CustomTestStringConvertible {
        let file: String
        let description: String
        /// "accepts" or "rejects".
        let safetensors: String
        let safetensors_error: String?
        /// A `SafeTensorsError.Kind` raw value, or "ok".
        let expected: String
        let safetensors_tensors: [String]?
        let safetensors_metadata: [String: String]?
        /// Why this reader departs from safetensors here, when it does.
        let deviation: String?
        /// For an accepted file, why accepting it is right.
        let decision: String?

        var testDescription: String { file }
        var url: URL { malformedDirectory.appendingPathComponent(file) }
    }

    typealias Case = CorpusCase

    static let manifest: Manifest = load("manifest.json", in: malformedDirectory)

    // MARK: rounding.json

    struct Rounding: Decodable {
        let cases: [Case]
        struct Case: Decodable, Sendable {
            let input_bits: UInt32
            let bf16_bits: UInt16
            let f16_bits: UInt16
            let is_nan: Bool
            let note: String
        }
    }

    static let rounding: Rounding = load("rounding.json", in: directory)

    // MARK: Helpers

    private static func load<T: Decodable>(_ name: String, in directory: URL) -> T {
        let url = directory.appendingPathComponent(name)
        do {
            return try JSONDecoder().decode(T.self, from: Data(contentsOf: url))
        } catch {
            fatalError("cannot load fixture \(url.path): \(error); run scripts/fixtures/make_safetensors_fixtures.py")
        }
    }

    static func bytes(hex: String) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(hex.utf8.count / 2)
        var iterator = hex.utf8.makeIterator()
        func nibble(_ c: UInt8) -> UInt8 { c <= 57 ? c - 48 : c - 87 }
        while let high = iterator.next(), let low = iterator.next() {
            result.append(nibble(high) << 4 | nibble(low))
        }
        return result
    }
}

/// Reads all of a floating tensor through `readFloat32`.
func readAllFloats(_ file: SafeTensorsFile, _ name: String) throws -> [Float] {
    let count = file.info(name)!.elementCount
    var values = [Float](repeating: .nan, count: count)
    try values.withUnsafeMutableBufferPointer { try file.readFloat32(name, into: $0) }
    return values
}

/// The error `body` throws, as a `SafeTensorsError` (nil if it throws nothing or something else).
func safeTensorsError(_ body: () throws -> Void) -> SafeTensorsError? {
    do {
        try body()
        return nil
    } catch let error as SafeTensorsError {
        return error
    } catch {
        return nil
    }
}
