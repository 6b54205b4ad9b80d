import Foundation

/// A byte count parsed from a human size: `5GB`, `500MB`, `2GB`, `1.5G`, `800M`, `4GiB`, `1000000`.
///
/// Decimal units (`K`/`KB` = 10³, `M`/`MB` = 10⁶, `G`/`GB`/`B` = 10⁹ — MergeKit's `5B` means five billion
/// bytes — `T`/`TB` = 10¹²) and binary units (`KiB`, `MiB`, `GiB`, `TiB`); case-insensitive.
public struct ByteSize: Sendable, Hashable, CustomStringConvertible {
    public let bytes: Int

    public init(bytes: Int) {
        self.bytes = bytes
    }

    /// Parses `text`; `nil` when it is not a positive size.
    public init?(parsing text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        let digits = trimmed.prefix { $0.isNumber || $0 == "." }
        let unit = trimmed.dropFirst(digits.count).trimmingCharacters(in: .whitespaces)
        guard let value = Double(digits), value > 0 else { return nil }
        let multipliers: [String: Double] = [
            "": 1, "b": 1e9, "k": 1e3, "kb": 1e3, "m": 1e6, "mb": 1e6, "g": 1e9, "gb": 1e9, "t": 1e12, "tb": 1e12,
            "kib": 1024, "mib": 1_048_576, "gib": 1_073_741_824, "tib": 1_099_511_627_776,
        ]
        guard let multiplier = multipliers[unit] else { return nil }
        let bytes = (value * multiplier).rounded()
        guard bytes >= 1, bytes < 9e18 else { return nil }
        self.bytes = Int(bytes)
    }

    public static let fiveGigabytes = ByteSize(bytes: 5_000_000_000)

    public var description: String {
        switch bytes {
        case 1_000_000_000...: String(format: "%.2f GB", Double(bytes) / 1e9)
        case 1_000_000...: String(format: "%.1f MB", Double(bytes) / 1e6)
        case 1_000...: String(format: "%.1f kB", Double(bytes) / 1e3)
        default: "\(bytes) B"
        }
    }
}
