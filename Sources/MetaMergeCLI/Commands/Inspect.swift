import ArgumentParser
import Checkpoints
import Foundation

extension MetaMerge {
    struct Inspect: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show what a checkpoint holds: architecture, parameters, bytes by dtype, shards, tied embeddings."
        )

        @Argument(
            help: "A model directory (config.json + safetensors weights), a .safetensors file, or a hub id ORG/NAME.")
        var directory: [String]

        @Flag(help: "List every tensor: name, dtype, shape, bytes.")
        var tensors = false

        @Flag(help: "Print JSON for scripts instead of text.")
        var json = false

        func run() async throws {
            try await reportingErrors {
                let summaries = try directory.map { path in
                    var isDirectory: ObjCBool = false
                    let url = try ModelReference.resolve(path).url
                    let checkpoint =
                        FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory)
                            && !isDirectory.boolValue
                        ? try Checkpoint(file: url, validation: .collect)
                        : try Checkpoint(directory: url, validation: .collect)
                    return CheckpointSummary(checkpoint)
                }
                if json {
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                    let data = summaries.count == 1 ? try encoder.encode(summaries[0]) : try encoder.encode(summaries)
                    Terminal.out(String(decoding: data, as: UTF8.self))
                } else {
                    Terminal.out(
                        summaries.map { CheckpointText(summary: $0, tensors: tensors).text }.joined(separator: "\n"))
                }
                let problems = summaries.flatMap(\.problems)
                if !problems.isEmpty {
                    for problem in problems { Terminal.error(problem) }
                    throw ExitCode(2)
                }
            }
        }
    }
}
