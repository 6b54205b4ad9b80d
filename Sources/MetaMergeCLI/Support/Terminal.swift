import ArgumentParser
import Foundation
import Interruption
import SafeTensors

/// Standard error and the terminal: one-line errors, progress that redraws on a terminal and prints plain lines
/// otherwise (CI logs, pipes).
enum Terminal {
    static let isTerminal: Bool = isatty(STDERR_FILENO) != 0 && ProcessInfo.processInfo.environment["TERM"] != "dumb"

    static func error(_ message: String) {
        FileHandle.standardError.write(Data("metamerge: \(message)\n".utf8))
    }

    static func info(_ message: String) {
        FileHandle.standardError.write(Data("\(message)\n".utf8))
    }

    static func out(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }
}

/// Runs a command body; any error is bad input: one line on stderr, exit code 2.
/// Gate failures are reported by the body itself with `ExitCode(1)`. After SIGINT / SIGTERM the error (whatever
/// wraps ``Interrupted``) is passed on unprinted: `MetaMerge.main()` reports the signal and exits 130 / 143.
func reportingErrors(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let exit as ExitCode {
        throw exit
    } catch where Interruption.signal != nil {
        throw error
    } catch {
        Terminal.error(describe(error))
        throw ExitCode(2)
    }
}

/// One readable line for an error: the library errors' own descriptions; Foundation's errors as the path and the
/// system's reason instead of an `NSCocoaErrorDomain` dump.
func describe(_ error: any Error) -> String {
    guard error is CocoaError || type(of: error) == NSError.self else { return "\(error)" }
    let nsError = error as NSError
    let path = (nsError.userInfo[NSFilePathErrorKey] as? String) ?? (nsError.userInfo[NSURLErrorKey] as? URL)?.path
    if let path { return "\(path): \(FileErrorReason.reason(error, url: URL(fileURLWithPath: path)))" }
    if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
        return String(cString: strerror(Int32(underlying.code)))
    }
    return "a file operation failed (Foundation error code \(nsError.code))"
}

/// Refuses an empty output path: `-o ""` would name the working directory.
func validateOutputPath(_ path: String, what: String = "-o") throws {
    if path.trimmingCharacters(in: .whitespaces).isEmpty {
        throw ValidationError("\(what) is empty; give a path")
    }
}

/// The most worker threads a command accepts: far more than any machine's cores, few enough to create.
let maximumThreads = 256

func validateThreads(_ threads: Int) throws {
    guard (1...maximumThreads).contains(threads) else {
        throw ValidationError("--threads \(threads) is out of range; expected 1…\(maximumThreads)")
    }
}

/// A progress display for a long pass over tensors or bytes.
///
/// On a terminal it redraws one line (`\r` + clear) at most ten times a second; otherwise, once the pass has run
/// for two seconds, it prints a plain line at every 10 % step, so logs stay short.
final class Progress: @unchecked Sendable {
    private let label: String
    private let total: Double
    private let lock = NSLock()
    private var done: Double = 0
    private var lastDraw = Date.distantPast
    private var lastPercentPrinted = -1
    private let start = Date()
    private let enabled: Bool

    init(_ label: String, total: Double, enabled: Bool = true) {
        self.label = label
        self.total = max(total, 1)
        self.enabled = enabled
    }

    func advance(by amount: Double, item: String = "") {
        lock.lock()
        defer { lock.unlock() }
        done += amount
        guard enabled else { return }
        let fraction = min(done / total, 1)
        let percent = Int(fraction * 100)
        if Terminal.isTerminal {
            let now = Date()
            guard now.timeIntervalSince(lastDraw) > 0.1 || fraction >= 1 else { return }
            lastDraw = now
            let width = 30
            let filled = Int(fraction * Double(width))
            let bar = String(repeating: "=", count: filled) + String(repeating: " ", count: width - filled)
            let shown = item.count > 40 ? "…" + item.suffix(39) : item
            FileHandle.standardError.write(
                Data("\r\u{1B}[2K\(label) [\(bar)] \(percent)%\(eta(fraction)) \(shown)".utf8))
        } else if Date().timeIntervalSince(start) > 2, percent / 10 > lastPercentPrinted / 10 || lastPercentPrinted < 0
        {
            lastPercentPrinted = percent
            FileHandle.standardError.write(Data("\(label): \(percent)%\(eta(fraction))\n".utf8))
        }
    }

    /// ` ETA 1m05s`: the time left if the rest goes at the average rate so far (empty before 1 % or 1 s).
    private func eta(_ fraction: Double) -> String {
        let elapsed = Date().timeIntervalSince(start)
        guard fraction >= 0.01, fraction < 1, elapsed >= 1 else { return "" }
        let left = Int((elapsed * (1 - fraction) / fraction).rounded())
        return left >= 60 ? String(format: " ETA %dm%02ds", left / 60, left % 60) : " ETA \(left)s"
    }

    func finish() {
        guard enabled else { return }
        let seconds = Date().timeIntervalSince(start)
        if Terminal.isTerminal { FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8)) }
        FileHandle.standardError.write(Data(String(format: "%@: done in %.1f s\n", label, seconds).utf8))
    }
}
