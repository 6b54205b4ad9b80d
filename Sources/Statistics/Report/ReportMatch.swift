import Checkpoints
import Foundation

/// Whether an analysis report describes a family's models, decided by weight fingerprints: the one answer to "is
/// this report about these models?" that the probe, the sweep and the merge share.
///
/// The report matches when its `base` has the base's fingerprint, every task model of the family has a recorded
/// task with the same fingerprint (the one of the same name when several have those weights), and it has as many
/// tasks as the family. Names do not have to agree: the weights decide.
public enum ReportMatch: Sendable, Equatable {
    /// For each task of the family, in its order, the index of the report's task with the same weights.
    case matched(taskOrder: [Int])
    /// The report records no `base` model.
    case noBase
    /// The report's base has fingerprint `recorded`; the family's base has `actual`.
    case otherBase(recorded: String, actual: String)
    /// No task of the report has the weights of the family's task `name` (fingerprint `fingerprint`).
    case missingTask(name: String, fingerprint: String)
    /// The report covers `reported` task models, the family has `family`.
    case taskCount(reported: Int, family: Int)

    /// Matches `statistics` (a report's analysis) against `family`; checks the base, then each task in the family's
    /// order, then the task count, and returns the first difference.
    ///
    /// - Throws: a read error while fingerprinting the family's weights.
    public static func match(_ statistics: TaskVectorStatistics, to family: ModelFamily) throws -> ReportMatch {
        let models = statistics.provenance.models
        guard let reportBase = models.first(where: { $0.role == "base" }) else { return .noBase }
        let baseFingerprint = try family.base.fingerprint()
        guard reportBase.fingerprint == baseFingerprint else {
            return .otherBase(recorded: reportBase.fingerprint, actual: baseFingerprint)
        }
        var order: [Int] = []
        for task in family.tasks {
            let fingerprint = try task.fingerprint()
            let candidates = models.filter { $0.role != "base" && $0.fingerprint == fingerprint }.map(\.role)
            let role = candidates.contains(task.name) ? task.name : candidates.first
            guard let role, let position = statistics.taskNames.firstIndex(of: role) else {
                return .missingTask(name: task.name, fingerprint: fingerprint)
            }
            order.append(position)
        }
        guard statistics.taskCount == order.count else {
            return .taskCount(reported: statistics.taskCount, family: order.count)
        }
        return .matched(taskOrder: order)
    }
}
