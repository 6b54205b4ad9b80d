import Foundation
import JSONCore
import Statistics

/// The JSON objects of a JSONL file (task files, prompts files): one object per non-blank line (LF or CRLF), each
/// with its line number (from 1), read with the one strict JSON reader.
enum JSONLObjects {
    /// Reads the objects of the file at `url`.
    ///
    /// - Parameters:
    ///   - kind: what the file is, for messages ("task file").
    ///   - shape: one line's expected shape, for messages (`{"prompt": …}`).
    ///   - maxObjects: the most objects, and the message's word for them ("items").
    /// - Throws: ``AnalysisError/badArgument(_:cause:)`` naming the file (and line) for a file larger than
    ///   ``EvalTask/maxFileBytes``, a missing or unreadable file, a line that is not valid UTF-8 or not a JSON object,
    ///   an object that repeats a key, more than `maxObjects` objects.
    static func read(
        _ url: URL, kind: String, shape: String, maxObjects: (count: Int, noun: String)
    ) throws -> [(line: Int, object: JSONNode)] {
        let path = url.path
        let data: Data
        do {
            let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? 0
            guard size <= EvalTask.maxFileBytes else {
                throw AnalysisError.badArgument(
                    "\(path): \(size) bytes; a \(kind) may have at most \(EvalTask.maxFileBytes) bytes")
            }
            data = try Data(contentsOf: url)
        } catch let error as AnalysisError {
            throw error
        } catch {
            throw AnalysisError.badArgument("\(path): cannot read the \(kind) (missing or unreadable)", cause: error)
        }
        var objects: [(line: Int, object: JSONNode)] = []
        var number = 0
        for rawLine in data.split(separator: 0x0A, omittingEmptySubsequences: false) {
            number += 1
            var bytes = rawLine[...]
            if bytes.last == 0x0D { bytes = bytes.dropLast() }
            guard let text = String(validating: bytes, as: UTF8.self) else {
                throw AnalysisError.badArgument(
                    "\(path):\(number): not valid UTF-8; a \(kind) is JSONL (one JSON object per line)")
            }
            if text.unicodeScalars.allSatisfy({ $0.properties.isWhitespace }) { continue }
            guard objects.count < maxObjects.count else {
                throw AnalysisError.badArgument(
                    "\(path): more than \(maxObjects.count) \(maxObjects.noun); split the file")
            }
            let notAnObject = "\(path):\(number): not a JSON object; a \(kind) is JSONL, one \(shape) per line"
            let object: JSONNode
            do {
                object = try JSONNode.parse(Array(bytes))
            } catch {
                throw AnalysisError.badArgument(notAnObject, cause: error)
            }
            guard object.members != nil else { throw AnalysisError.badArgument(notAnObject) }
            // A key given twice is read differently by JSON readers (Python's json, which wrote the references,
            // keeps the last): refuse the ambiguity.
            if let twice = object.duplicateKey {
                throw AnalysisError.badArgument(
                    "\(path):\(number): the key \"\(twice)\" appears twice in the object; keep one")
            }
            objects.append((number, object))
        }
        return objects
    }
}
