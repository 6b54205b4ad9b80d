import ArgumentParser

@main
struct MetaMerge: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metamerge",
        abstract: "Check the assumptions behind data-free model merging, and merge (MetaGPT and MergeKit's methods).",
        version: "0.1.0",
        subcommands: [Inspect.self, Analyze.self, Probe.self, Check.self, MergeCommand.self, Tokenize.self, Demo.self])
}
