import Foundation

/// PEFT's matching of a `rank_pattern` / `alpha_pattern` key against a module name (`peft.utils.other.
/// get_pattern_key`, PEFT 0.21): the key matches when `re.match(rf"(.*\.)?({key})$", module)` does, i.e. the
/// module name is the key, or ends with `.` followed by a match of the key (a regular expression).
enum LoRAPattern {
    /// Whether pattern key `key` matches module `module`; a key that is not a valid regular expression matches
    /// nothing.
    static func matches(_ key: String, _ module: String) -> Bool {
        guard let regex = try? NSRegularExpression(pattern: "^(.*\\.)?(\(key))$") else { return false }
        return regex.firstMatch(in: module, range: NSRange(module.startIndex..., in: module)) != nil
    }
}
