import Foundation

/// Which directories make a family: a base and named task models.
public struct FamilySpec: Sendable, Hashable {
    public var base: URL
    public var tasks: [(name: String, directory: URL)]

    public init(base: URL, tasks: [(name: String, directory: URL)]) {
        self.base = base
        self.tasks = tasks
    }

    /// Opens every model and aligns them; a task directory holding `adapter_config.json` is a LoRA adapter on the
    /// base (``LoRAAdapter``).
    public func open() throws -> ModelFamily {
        let base = try Checkpoint(directory: base)
        let members = try tasks.map {
            if LoRAAdapter.isAdapterDirectory($0.directory) {
                return ModelFamily.Member(name: $0.name, adapter: try LoRAAdapter(directory: $0.directory), base: base)
            }
            return ModelFamily.Member(name: $0.name, checkpoint: try Checkpoint(directory: $0.directory))
        }
        return try ModelFamily(base: base, tasks: members)
    }

    public static func == (lhs: FamilySpec, rhs: FamilySpec) -> Bool {
        lhs.base == rhs.base && lhs.tasks.map(\.name) == rhs.tasks.map(\.name)
            && lhs.tasks.map(\.directory) == rhs.tasks.map(\.directory)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(base)
        for task in tasks {
            hasher.combine(task.name)
            hasher.combine(task.directory)
        }
    }
}
