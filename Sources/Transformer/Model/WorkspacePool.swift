import Foundation

/// Keeps the workspace of the last forward pass for the next one, so repeated passes (an α sweep, a batch of
/// prompts) neither reallocate nor page-fault fresh memory. Concurrent passes each take their own workspace.
final class WorkspacePool: @unchecked Sendable {
    private let lock = NSLock()
    private var idle: Workspace?

    /// Runs `body` with a workspace for `tokenCount` tokens: the idle one when large enough, else a new one.
    func withWorkspace<R>(
        config: TransformerConfig, tokenCount: Int, weightCapacity: Int, _ body: (Workspace) throws -> R
    ) rethrows -> R {
        var workspace = lock.withLock { () -> Workspace? in
            defer { idle = nil }
            return idle
        }
        if workspace == nil || workspace!.capacity < tokenCount {
            workspace = Workspace(config: config, capacity: tokenCount, weightCapacity: weightCapacity)
        }
        let taken = workspace!
        taken.tokenCount = tokenCount
        defer { lock.withLock { idle = taken } }
        return try body(taken)
    }
}
