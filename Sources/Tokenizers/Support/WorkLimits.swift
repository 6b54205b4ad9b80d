/// The documented bounds on the work a `tokenizer.json` can ask for, so a hostile or broken file ends in one error
/// naming the component and the limit instead of a hang or an unbounded allocation (README, "Tokenizers: limits").
///
/// - A regular expression (`Split` pre-tokenizer, `Replace` normalizer or decoder) may take at most
///   ``regexBaseSteps`` + ``regexStepsPerUnit`` × (the text's length in UTF-16 units) matching steps on one text, as
///   ICU counts them (its match callback fires every ``regexStepsPerTick`` steps; the count is checked there). A
///   pattern that backtracks catastrophically (`(a+)+$`) stops there; the patterns of real models take a few steps
///   per character.
/// - A normalizer's output, and a decoder's, may hold at most ``baseOutputBytes`` + ``outputBytesPerInputByte`` ×
///   the input's UTF-8 bytes (checked before each `Replace` builds its result, and after every step of a
///   `Sequence`). Real normalizers grow a text by a small factor (NFKD at most 18 scalars for one, `Replace` of
///   " " by "▁" 3 bytes for 1); a chain of `Replace` steps that doubles a character 40 times would need 2^40 bytes.
enum WorkLimits {
    static let regexBaseSteps = 1_000_000
    static let regexStepsPerUnit = 1_000
    /// ICU's `TIMER_INITIAL_VALUE`: matching steps between two calls of the match callback.
    static let regexStepsPerTick = 10_000
    static let baseOutputBytes = 1 << 20
    static let outputBytesPerInputByte = 64

    /// The most match-callback ticks allowed on a text of `length` UTF-16 units.
    static func regexTicks(length: Int) -> Int {
        (regexBaseSteps + regexStepsPerUnit * length) / regexStepsPerTick
    }

    /// The most UTF-8 bytes a normalized or decoded text of `inputBytes` bytes may hold.
    static func outputBytes(inputBytes: Int) -> Int {
        baseOutputBytes + outputBytesPerInputByte * inputBytes
    }

    /// The limit as the error messages state it.
    static func describeOutputLimit(inputBytes: Int) -> String {
        "limit \(outputBytes(inputBytes: inputBytes)) bytes: \(baseOutputBytes) + \(outputBytesPerInputByte) × the "
            + "input's \(inputBytes) bytes"
    }
}
