/// Why a text is not JSON: what was expected, and the byte offset where it went wrong.
package struct JSONSyntaxError: Error, Sendable, CustomStringConvertible {
    package let message: String
    package let offset: Int

    package init(message: String, offset: Int) {
        self.message = message
        self.offset = offset
    }

    /// `<message> at byte <offset>`.
    package var description: String { "\(message) at byte \(offset)" }
}
