import ArgumentParser
import Checkpoints
import Dispatch
import Foundation

@main
struct MetaMerge: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metamerge",
        abstract: "Check the assumptions behind data-free model merging, and merge (MetaGPT and MergeKit's methods).",
        discussion: """
            Exit status: 0 success (the gate passed), 1 the gate failed, 2 bad input or an error (one line on stderr).
            Outputs never replace what metamerge did not write: -o refuses a directory, an input, an ancestor of an \
            input and a file that is not a MetaMerge report; merge --overwrite replaces only an earlier merge output.
            """,
        version: "0.1.0",
        subcommands: [
            Inspect.self, Analyze.self, Probe.self, Check.self, MergeCommand.self, Tokenize.self, Eval.self, Sweep.self,
            Recommend.self, Demo.self,
        ])

    /// Parses and runs the subcommand with the exit codes the README promises: a usage error is bad input (2),
    /// not ArgumentParser's 64; SIGINT / SIGTERM remove the temporaries being written before the process ends.
    static func main() async {
        let signalSources = installSignalCleanup()
        defer { _ = signalSources }
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure {
                let message = fullMessage(for: error)
                FileHandle.standardError.write(Data("\(message)\n".utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }

    /// On SIGINT / SIGTERM: remove every registered temporary output, then end with the signal's default action.
    private static func installSignalCleanup() -> [DispatchSourceSignal] {
        [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                TemporaryOutputs.removeAll()
                signal(number, SIG_DFL)
                raise(number)
            }
            source.resume()
            return source
        }
    }
}
