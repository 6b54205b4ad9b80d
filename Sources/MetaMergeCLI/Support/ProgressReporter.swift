import Foundation
import Merging

/// Shows a library pass's progress with the terminal's ``Progress``.
final class ProgressReporter: MergeProgressReporting, @unchecked Sendable {
    private let enabled: Bool
    private let lock = NSLock()
    private var progress: Progress?

    init(enabled: Bool) {
        self.enabled = enabled
    }

    func begin(_ label: String, total: Double) {
        lock.lock()
        defer { lock.unlock() }
        progress = Progress(label, total: total, enabled: enabled)
    }

    func advance(_ amount: Double) {
        lock.lock()
        let current = progress
        lock.unlock()
        current?.advance(by: amount)
    }

    func end() {
        lock.lock()
        defer { lock.unlock() }
        progress?.finish()
        progress = nil
    }
}
