import Checkpoints
import Foundation
import SafeTensors
import Statistics

extension StatisticsPass {
    /// The statistics pass over `family` with a progress display (by bytes), then the checkpoints' notes on stderr.
    static func runShowingProgress(_ family: ModelFamily, threads: Int) throws -> TaskVectorStatistics {
        let bytes = family.tensors.reduce(0) { $0 + $1.elementCount * $1.dtypes.reduce(0) { $0 + $1.byteSize } }
        let progress = Progress("analyze", total: Double(bytes))
        let statistics = try StatisticsPass(threads: threads).run(
            family, commandLine: CommandLine.arguments.joined(separator: " "),
            progress: { progress.advance(by: Double($0)) })
        progress.finish()
        for note in family.checkpoints.flatMap(\.notes) { Terminal.info("note: \(note)") }
        return statistics
    }
}
