import Checkpoints
import Foundation

/// Where a report came from: the tool, when, the command line, and each model with a fingerprint of its weights.
public struct Provenance: Sendable, Hashable {
    public struct Model: Sendable, Hashable {
        /// `base` or the task name.
        public let role: String
        public let path: String
        /// See ``Fingerprint``.
        public let fingerprint: String
        public init(role: String, path: String, fingerprint: String) {
            self.role = role
            self.path = path
            self.fingerprint = fingerprint
        }
    }

    public var toolVersion: String
    /// ISO 8601, UTC.
    public var createdUTC: String
    public var commandLine: String
    public var models: [Model]

    public init(toolVersion: String, createdUTC: String, commandLine: String, models: [Model]) {
        self.toolVersion = toolVersion
        self.createdUTC = createdUTC
        self.commandLine = commandLine
        self.models = models
    }

    public static let toolVersion = "0.1.0"

    /// Provenance of a run over `checkpoints` (role, checkpoint), stamped now with this process's command line:
    /// each model with its weight fingerprint.
    public static func current(_ checkpoints: [(role: String, checkpoint: Checkpoint)]) throws -> Provenance {
        Provenance(
            toolVersion: toolVersion, createdUTC: now(), commandLine: CommandLine.arguments.joined(separator: " "),
            models: try checkpoints.map { role, checkpoint in
                Model(role: role, path: checkpoint.directory.path, fingerprint: try checkpoint.fingerprint())
            })
    }

    /// ``current(_:)`` for a family: `base`, then the task names; a LoRA adapter task with its adapter's folder and
    /// ``ModelFamily/Member/fingerprint()``.
    public static func current(_ family: ModelFamily) throws -> Provenance {
        var provenance = try current([(role: "base", checkpoint: family.base)])
        for task in family.tasks {
            provenance.models.append(
                Model(role: task.name, path: task.directory.path, fingerprint: try task.fingerprint()))
        }
        return provenance
    }

    public static func now() -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date())
    }
}
