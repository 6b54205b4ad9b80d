import ArgumentParser
import Checkpoints
import Foundation
import Interruption

@main
struct MetaMerge: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metamerge",
        abstract: "Check the assumptions behind data-free model merging, and merge (MetaGPT and MergeKit's methods).",
        discussion: """
            Exit status: 0 success (the gate passed), 1 the gate failed, 2 bad input or an error (one line on stderr).
            Outputs never replace what metamerge did not write: -o refuses a directory, an input, an ancestor of an \
            input and a file that is not a MetaMerge report; merge --overwrite replaces only an unchanged earlier \
            merge output (its .metamerge-manifest.json lists every file). SIGINT / SIGTERM: exit 130 / 143, nothing \
            left.
            """,
        version: "0.1.0",
        subcommands: [
            Inspect.self, Analyze.self, Probe.self, Check.self, MergeCommand.self, Tokenize.self, Eval.self, Sweep.self,
            Recommend.self, Demo.self,
        ])

    /// Parses and runs the subcommand with the exit codes the README promises: a usage error is bad input (2),
    /// not ArgumentParser's 64; SIGINT / SIGTERM end the run within a second, remove the temporaries being
    /// written and exit 130 / 143 (``SignalWatcher``).
    static func main() async {
        SignalWatcher.install()
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            if let signal = Interruption.signal { endInterrupted(signal) }
        } catch {
            if let signal = Interruption.signal { endInterrupted(signal) }
            let code = exitCode(for: error)
            if code == .validationFailure {
                FileHandle.standardError.write(Data("\(usageLine(for: error))\n".utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }

    /// A usage error in one line, as every other error: "metamerge probe: MESSAGE (see 'metamerge probe --help')".
    /// ArgumentParser's own text repeats the synopsis over several lines; the message is the part that helps.
    private static func usageLine(for error: Error) -> String {
        let arguments = CommandLine.arguments.dropFirst()
        let subcommand = arguments.first.flatMap { name in
            configuration.subcommands.contains { $0.configuration.commandName == name || $0._commandName == name }
                ? name : nil
        }
        let command = ["metamerge", subcommand].compactMap { $0 }.joined(separator: " ")
        let message = message(for: error).split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.joined(separator: " ")
        return "\(command): \(message.isEmpty ? "bad usage" : message) (see '\(command) --help')"
    }

    /// The end of a run a signal stopped: the temporaries removed, one line on stderr, exit 128 + signal.
    private static func endInterrupted(_ signal: Int32) -> Never {
        TemporaryOutputs.removeAll()
        let interrupted = Interrupted(signal: signal)
        Terminal.error("\(interrupted); nothing more was written")
        Foundation.exit(interrupted.exitStatus)
    }
}
