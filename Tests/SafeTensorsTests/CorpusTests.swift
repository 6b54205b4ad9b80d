import Foundation
import SafeTensors
import Testing

/// The malformed (and lenient) corpus: each file is refused with its specific error kind, or accepted with what
/// safetensors 0.8 sees in it. The manifest records safetensors' own verdict next to the expected one; where they
/// differ the manifest says why (`deviation`), and the fixture script refuses to write an unexplained difference.
///
/// Decisions (each from running safetensors 0.8 on the file, see manifest.json):
/// - accepted as safetensors accepts them: empty tensor name, zero-size tensors (also at offset 0 and at the end),
///   a file with no tensors, 0-d tensors, a header length that is not a multiple of 8 (data then unaligned), JSON
///   whitespace around and inside the header, unknown fields in an entry (ignored), entries in any order, escaped
///   names, `__metadata__: null` (read as no metadata) or after the tensors, serde's positional entry form
///   `[dtype, shape, data_offsets]`, a packed F4 tensor;
/// - refused although safetensors accepts them: two tensors with one name (safetensors silently keeps one, so
///   which dtype/offsets a reader sees depends on its JSON library) and one key twice in `__metadata__` (same
///   reason);
/// - refused as safetensors refuses them, with a distinct kind per rule: everything else.
@Suite("Malformed and lenient corpus")
struct CorpusTests {
    static let cases = Fixtures.manifest.cases

    @Test("the corpus is large and covers every validation rule")
    func coverage() {
        #expect(Self.cases.filter { $0.expected != "ok" }.count >= 25)
        let kinds = Set(Self.cases.map(\.expected))
        let rules: [SafeTensorsError.Kind] = [
            .fileTooShort, .headerTooLarge, .headerPastEndOfFile, .headerNotUTF8, .headerNotJSON, .headerNotObject,
            .duplicateName, .invalidMetadata, .invalidTensorEntry, .missingField, .unknownDType, .invalidShape,
            .invalidOffsets, .sizeOverflow, .byteCountMismatch, .offsetsNotContiguous, .dataSizeMismatch,
        ]
        for rule in rules {
            #expect(kinds.contains(rule.rawValue), "no corpus file for \(rule)")
        }
        #expect(Fixtures.manifest.safetensors_version == "0.8.0")
    }

    @Test("refused files raise their specific error", arguments: cases.filter { $0.expected != "ok" })
    func refused(_ corpus: Fixtures.CorpusCase) throws {
        let kind = try #require(SafeTensorsError.Kind(rawValue: corpus.expected), "unknown kind in manifest")
        let error = safeTensorsError { _ = try SafeTensorsFile(url: corpus.url) }
        let thrown = try #require(error, "\(corpus.description): opened without error")
        #expect(thrown.kind == kind, "\(corpus.description): \(thrown)")
        #expect(thrown.file == corpus.url)
        #expect(thrown.description.contains(corpus.url.path))
        // Where we refuse and safetensors refuses too, or the manifest explains the difference.
        #expect(corpus.safetensors == "rejects" || corpus.deviation != nil)
    }

    @Test(
        "lenient files are accepted with the tensors safetensors sees", arguments: cases.filter { $0.expected == "ok" })
    func accepted(_ corpus: Fixtures.CorpusCase) throws {
        #expect(corpus.safetensors == "accepts")
        #expect(corpus.decision != nil, "every lenient case records why it is accepted")
        let file = try SafeTensorsFile(url: corpus.url)
        #expect(file.tensors.map(\.name).sorted() == corpus.safetensors_tensors)
        #expect(file.metadata == corpus.safetensors_metadata ?? [:])
        for info in file.tensors {
            let bytes = try file.withRawBytes(info.name) { $0.count }
            #expect(bytes == info.byteCount)
        }
    }

    @Test("errors name the tensor concerned")
    func namesTensor() throws {
        let cases: [(file: String, tensor: String?)] = [
            ("negative_shape", "a"), ("unknown_dtype", "a"), ("wrong_byte_count", "a"), ("missing_shape", "a"),
            ("hole_between_tensors", "b"), ("overlapping_offsets", "b"), ("duplicate_names_same_offsets", "a"),
            ("header_too_large", nil), ("trailing_bytes", nil),
        ]
        for (name, tensor) in cases {
            let url = Fixtures.malformedDirectory.appendingPathComponent(name + ".safetensors")
            let error = try #require(safeTensorsError { _ = try SafeTensorsFile(url: url) })
            #expect(error.tensor == tensor, "\(name): \(error)")
            if let tensor {
                #expect(error.description.hasPrefix("tensor '\(tensor)' in \(url.path): "))
            }
        }
    }

    @Test("specific accepted layouts read back their values")
    func lenientValues() throws {
        let unaligned = try SafeTensorsFile(
            url: Fixtures.malformedDirectory.appendingPathComponent("ok_unaligned_header.safetensors"))
        #expect(try readAllFloats(unaligned, "a") == [1, -2])
        #expect(try readAllFloats(unaligned, "b") == [Float(0.1)])  // F64 0.1 rounded to Float
        let escaped = try SafeTensorsFile(
            url: Fixtures.malformedDirectory.appendingPathComponent("ok_escaped_name.safetensors"))
        #expect(escaped.tensors.map(\.name) == ["A/\"😀"])
        let scalar = try SafeTensorsFile(
            url: Fixtures.malformedDirectory.appendingPathComponent("ok_scalar.safetensors"))
        #expect(scalar.info("s")?.shape == [])
        #expect(scalar.info("s")?.elementCount == 1)
        #expect(try readAllFloats(scalar, "s") == [1])
        let zero = try SafeTensorsFile(
            url: Fixtures.malformedDirectory.appendingPathComponent("ok_zero_size_tensors.safetensors"))
        #expect(zero.tensors.map(\.name) == ["z0", "a", "z1"])
        #expect(try readAllFloats(zero, "z1") == [])
        let positional = try SafeTensorsFile(
            url: Fixtures.malformedDirectory.appendingPathComponent("ok_entry_array_form.safetensors"))
        #expect(try readAllFloats(positional, "a") == [1, -2])
    }

    @Test("a missing file, a directory and an unreadable path are reported, not crashed on")
    func cannotOpen() throws {
        let missing = Fixtures.directory.appendingPathComponent("does-not-exist.safetensors")
        #expect(safeTensorsError { _ = try SafeTensorsFile(url: missing) }?.kind == .cannotOpen)
        #expect(safeTensorsError { _ = try SafeTensorsFile(url: Fixtures.directory) }?.kind == .cannotOpen)
    }
}
