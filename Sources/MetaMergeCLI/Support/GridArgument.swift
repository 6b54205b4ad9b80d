import ArgumentParser
import Evaluation

/// A grid of numbers on the command line (`--alphas`, `--scales`): `start:end:step` (end included) or a comma
/// list, parsed once, as ``LinearityProbe/parseGrid(_:)`` parses it, when the argument is read.
///
/// A bad grid is kept as its error and thrown where the command asks for the values (``values()``, or
/// ``alphas()`` in `validate()`), so its one-line message is the library's, naming the grid.
struct GridArgument: ExpressibleByArgument, ExpressibleByStringLiteral, Sendable {
    /// The argument as given.
    let text: String
    private let parsed: Result<[Double], any Error>

    init(argument: String) {
        text = argument
        parsed = Result { try LinearityProbe.parseGrid(argument) }
    }

    init(stringLiteral value: String) { self.init(argument: value) }

    var defaultValueDescription: String { text }

    /// The grid's values.
    ///
    /// - Throws: the parser's ``AnalysisError`` (`badArgument`): not a grid, a value that is not finite, a step that
    ///   is not positive, too many points.
    func values() throws -> [Double] { try parsed.get() }

    /// The values as a probe's α grid: also at least two distinct α (``LinearityProbe/checkAlphas(_:text:)``).
    func alphas() throws -> [Double] {
        let values = try values()
        try LinearityProbe.checkAlphas(values, text: text)
        return values
    }
}
