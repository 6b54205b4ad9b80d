import Checkpoints
import Foundation
import Interruption

/// Turns SIGINT and SIGTERM into an orderly end of the run, within a second, with exit status 130 / 143.
///
/// Why not a `DispatchSource` (the earlier design, under which a probe ran 19.9 s after Ctrl-C and `tokenize`
/// ignored SIGTERM): measured on Linux with `tokenize --file` of a large file, the source's handler did run (it
/// removed the temporaries), but libdispatch's worker threads block every signal (`/proc/PID/task/*/status`:
/// `SigBlk: fffffffe3bfbea27`), so the handler's `raise(SIGTERM)` stayed pending on its own worker thread
/// (`SigPnd: 0000000000004000`) and the run went on to its end.
///
/// Now a `sigaction` handler, which does only what is async-signal-safe — it writes the signal number to a pipe —
/// runs on whichever thread the kernel picks (the watcher thread unblocks both signals, so one always can), and a
/// dedicated thread reading the pipe, on the first signal:
/// 1. records the request in ``Interruption``, so that every long loop throws ``Interrupted`` and the command ends
///    through its ordinary error path (``MetaMerge/main()`` then exits 128 + signal);
/// 2. removes every registered temporary output and refuses any later publish (``TemporaryOutputs/removeAll()``);
/// 3. if the process has not ended within `grace` seconds, or a second signal arrives, removes the temporaries
///    again and ends the process with `_exit(128 + signal)`.
enum SignalWatcher {
    /// The pipe's write end, for the handler; -1 until ``install(grace:)``.
    nonisolated(unsafe) private static var pipeWriteEnd: Int32 = -1

    /// Starts the watcher thread and installs the handler for SIGINT and SIGTERM. Where the pipe cannot be created,
    /// the signals keep their default action (the process ends at once; the next run removes its marked
    /// temporaries).
    static func install(grace: Double = 0.5) {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { return }
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }  // not inherited by the processes a command starts
        let readEnd = ends[0]
        // A handler must never block: with the pipe full (signals in a burst), further bytes are dropped.
        _ = fcntl(ends[1], F_SETFL, O_NONBLOCK)
        pipeWriteEnd = ends[1]
        let thread = Thread { watch(readEnd, grace: grace) }
        thread.name = "metamerge-signals"
        thread.start()
        let handler: @convention(c) (Int32) -> Void = { number in
            let saved = errno
            var byte = UInt8(truncatingIfNeeded: number)
            _ = write(SignalWatcher.pipeWriteEnd, &byte, 1)
            errno = saved
        }
        var action = sigaction()
        #if canImport(Glibc)
        action.__sigaction_handler.sa_handler = handler
        #else
        action.__sigaction_u.__sa_handler = handler
        #endif
        action.sa_flags = SA_RESTART
        sigemptyset(&action.sa_mask)
        for number in [SIGINT, SIGTERM] { sigaction(number, &action, nil) }
    }

    private static func watch(_ readEnd: Int32, grace: Double) {
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGINT)
        sigaddset(&signals, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &signals, nil)
        var byte: UInt8 = 0
        while read(readEnd, &byte, 1) != 1 {
            if errno != EINTR { return }
        }
        let number = Int32(byte)
        // The request first: an error the cleanup causes (a refused publish) is then reported as the interruption.
        Interruption.request(signal: number)
        TemporaryOutputs.removeAll()
        var waiting = pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0)
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(grace * 1e9)
        while DispatchTime.now().uptimeNanoseconds < deadline {
            let left = Int32((deadline - DispatchTime.now().uptimeNanoseconds) / 1_000_000)
            if poll(&waiting, 1, max(left, 1)) > 0 { break }  // a second signal: end now
        }
        TemporaryOutputs.removeAll()
        let interrupted = Interrupted(signal: number)
        Terminal.error("\(interrupted); the run did not stop within \(grace) s, ended without finishing")
        _exit(interrupted.exitStatus)
    }
}
