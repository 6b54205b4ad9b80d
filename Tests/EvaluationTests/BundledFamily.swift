import Checkpoints
import Foundation
import TestSupport

/// The bundled tiny family (`examples/tiny-family`) opened with some of its task models.
enum BundledFamily {
    static func open(_ tasks: [String] = ["add", "rev"]) throws -> ModelFamily {
        try FamilySpec(
            base: RepositoryPaths.tinyFamily.appendingPathComponent("base"),
            tasks: tasks.map { ($0, RepositoryPaths.tinyFamily.appendingPathComponent($0)) }
        ).open()
    }
}
