import Foundation

/// Wall time per phase of the lockstep engine, printed to stderr after each run when `METAMERGE_ENGINE_PROFILE` is
/// set: reading/converting inputs, forming points' weights, matrix products, and everything else.
final class EngineProfile: @unchecked Sendable {
    static let enabled = ProcessInfo.processInfo.environment["METAMERGE_ENGINE_PROFILE"] != nil
    private let lock = NSLock()
    private var seconds: [String: Double] = [:]

    /// Runs `body`, adding its wall time to `phase` when profiling is enabled.
    func measure<R>(_ phase: String, _ body: () throws -> R) rethrows -> R {
        guard Self.enabled else { return try body() }
        let start = DispatchTime.now().uptimeNanoseconds
        defer {
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            lock.withLock { seconds[phase, default: 0] += elapsed }
        }
        return try body()
    }

    func report(_ label: String, total: Double) {
        guard Self.enabled else { return }
        let parts = lock.withLock { seconds }
        let measured = parts.values.reduce(0, +)
        let text = parts.sorted { $0.key < $1.key }.map { String(format: "%@ %.2f s", $0.key, $0.value) }
            .joined(separator: ", ")
        FileHandle.standardError.write(
            Data(
                String(format: "engine %@: %.2f s — %@, other %.2f s\n", label, total, text, total - measured).utf8))
    }
}
