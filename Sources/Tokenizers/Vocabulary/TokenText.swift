/// A token's text compared by its exact Unicode scalars, as Python's `str`, Rust's `String` and the `tokenizers`
/// library compare tokens.
///
/// Swift's `String` equality is canonical equivalence: "é" (U+00E9) and "e" + U+0301 are equal `String`s, so a
/// `Dictionary<String, _>` keyed by tokens would merge two tokens a vocabulary holds apart. This key does not:
/// two texts are equal exactly when their UTF-8 bytes are (compatibility variants such as "ﬁ" and "fi" differ too).
package struct TokenText: Hashable, Sendable, CustomStringConvertible {
    /// The token.
    package let text: String

    package init(_ text: String) {
        self.text = text
    }

    package static func == (lhs: TokenText, rhs: TokenText) -> Bool {
        lhs.text.utf8.elementsEqual(rhs.text.utf8)
    }

    package func hash(into hasher: inout Hasher) {
        for byte in text.utf8 { hasher.combine(byte) }
        hasher.combine(0xFF as UInt8)  // not a UTF-8 byte: ends the text
    }

    package var description: String { text }
}
