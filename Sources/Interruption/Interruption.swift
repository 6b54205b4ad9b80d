import Foundation

/// The process-wide request to stop a run: set once, by the command line's signal watcher, when SIGINT or SIGTERM
/// arrives; every long loop (the worker pool's items, the engine's layers, the tokenizer's words, prompt reading)
/// polls it and throws ``Interrupted``, so a run ends in an orderly way and the command line exits 128 + signal.
///
/// Reading the flag takes an uncontended lock (tens of nanoseconds): loops poll it per item, layer or word, never
/// per element.
package enum Interruption {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var received: Int32 = 0

    /// Records that `signal` asked the process to stop; the first signal recorded is kept.
    package static func request(signal: Int32) {
        lock.lock()
        defer { lock.unlock() }
        if received == 0 { received = signal }
    }

    /// The signal that asked the process to stop, or `nil` while none has.
    package static var signal: Int32? {
        lock.lock()
        defer { lock.unlock() }
        return received == 0 ? nil : received
    }

    /// Throws ``Interrupted`` once a stop was requested.
    package static func check() throws(Interrupted) {
        if let signal { throw Interrupted(signal: signal) }
    }
}

/// A run stopped because a signal asked the process to end (see ``Interruption``).
package struct Interrupted: Error, Sendable, Equatable, CustomStringConvertible {
    /// The signal number (SIGINT 2, SIGTERM 15).
    package let signal: Int32

    package init(signal: Int32) {
        self.signal = signal
    }

    /// The exit status a shell reports for it: 128 + the signal number (130 for SIGINT, 143 for SIGTERM).
    package var exitStatus: Int32 { 128 + signal }

    package var description: String {
        let name = signal == SIGINT ? "SIGINT" : signal == SIGTERM ? "SIGTERM" : "signal \(signal)"
        return "interrupted by \(name)"
    }
}
