import Foundation
import TestSupport
import Testing

/// The prompt files of the validation families (the bundled ones under examples/, and the small files committed for
/// the generated ones under benchmarks/families/): for every task file `tasks/NAME.jsonl` (100 labelled items whose
/// completions end in the family's EOS text) there is `unlabeled/NAME.jsonl` with 16 distinct `{"prompt": …}` lines,
/// none of them a prompt of the task file, and every probe prompt in `prompts.txt` is one of the unlabeled prompts.
@Suite("Families: unlabeled prompt files")
struct FamiliesPromptFilesTests {
    /// Family directory (relative to the repository root) and the EOS text its completions end in.
    static let families: [(path: String, eos: String)] = [
        ("examples/tiny-family", "<eos>"),
        ("examples/gentle-family", "<eos>"),
        ("benchmarks/families/smollm2-tasks", "<|im_end|>"),
        ("benchmarks/families/breaker", "<eos>"),
        ("benchmarks/families/heldout", "<eos>"),
    ]

    /// One JSON object per non-empty line.
    static func objects(_ url: URL) throws -> [[String: Any]] {
        let text = try String(contentsOf: url, encoding: .utf8)
        return try text.split(separator: "\n").map { line in
            try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(url.path): \(line)")
        }
    }

    @Test("16 distinct unlabeled prompts per task, disjoint from the labelled items", arguments: families.map(\.path))
    func unlabeledFiles(family: String) throws {
        let root = RepositoryPaths.root.appendingPathComponent(family)
        let eos = try #require(Self.families.first { $0.path == family }).eos
        let taskFiles = try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("tasks").path)
            .filter { $0.hasSuffix(".jsonl") }.sorted()
        #expect(taskFiles.count >= 3)
        var unlabeledPrompts: Set<String> = []
        for file in taskFiles {
            let items = try Self.objects(root.appendingPathComponent("tasks/\(file)"))
            #expect(items.count == 100, "\(family)/tasks/\(file)")
            let labelled = Set(items.compactMap { $0["prompt"] as? String })
            #expect(labelled.count == 100, "\(family)/tasks/\(file): prompts not distinct")
            for item in items {
                let completion = try #require(item["completion"] as? String, "\(family)/tasks/\(file)")
                #expect(completion.hasSuffix(eos), "\(family)/tasks/\(file): \(completion)")
            }
            let rows = try Self.objects(root.appendingPathComponent("unlabeled/\(file)"))
            #expect(rows.count == 16, "\(family)/unlabeled/\(file)")
            let prompts = rows.compactMap { row in row.count == 1 ? row["prompt"] as? String : nil }
            #expect(prompts.count == rows.count, "\(family)/unlabeled/\(file): a line is not {\"prompt\": …}")
            #expect(Set(prompts).count == prompts.count, "\(family)/unlabeled/\(file): prompts not distinct")
            let repeated = Set(prompts).intersection(labelled).sorted()
            #expect(repeated.isEmpty, "\(family)/unlabeled/\(file) repeats labelled prompts \(repeated)")
            unlabeledPrompts.formUnion(prompts)
        }
        // The generated families take their probe prompts from the unlabeled files (the bundled ones from the tasks).
        if family.hasPrefix("benchmarks/") {
            let probes = try String(contentsOf: root.appendingPathComponent("prompts.txt"), encoding: .utf8)
                .split(separator: "\n").map(String.init)
            #expect(probes.count >= 6)
            for probe in probes {
                #expect(unlabeledPrompts.contains(probe) || unlabeledPrompts.contains("<bos>" + probe),
                        "\(family)/prompts.txt: \(probe) is not an unlabeled prompt")
            }
        }
    }
}
