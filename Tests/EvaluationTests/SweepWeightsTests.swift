import Evaluation
import Statistics
import Testing

/// `--weights` typed when it is read; the count and λ checked against the family when the sweep runs.
@Suite("SweepWeights: --weights parsed once, checked at run")
struct SweepWeightsTests {
    /// Fields are typed from the text alone: names, vectors of numbers (kept as written for the name), and the
    /// rest kept for the error the run reports.
    @Test func fieldsAreTypedFromTheText() {
        let weights = SweepWeights(parsing: "uniform, metagpt,0.5:1.5,x:1")
        #expect(weights.fields == [.uniform, .metagpt, .vector("0.5:1.5", [0.5, 1.5]), .unknown("x:1")])
        #expect(weights.needsMetaGPT)
        #expect(!SweepWeights(parsing: "uniform,1:1").needsMetaGPT)
    }

    /// For T = 2: uniform is (½, ½), metagpt the given λ, a vector as written (not normalised), in the order given.
    @Test func weightingsForTheTaskCount() throws {
        let weightings = try SweepWeights(parsing: "uniform,metagpt,2:6").weightings(
            taskCount: 2, metagpt: [0.25, 0.75])
        #expect(weightings.map(\.name) == ["uniform", "metagpt", "2:6"])
        #expect(weightings.map(\.weights) == [[0.5, 0.5], [0.25, 0.75], [2, 6]])
    }

    /// Each bad field is one message naming it, in the order of the fields; the count is checked against the
    /// family's task count only here.
    @Test(arguments: [
        ("bogus", "--weights 'bogus': expected uniform, metagpt or a vector w1:w2:… of 3 numbers"),
        ("1:2", "--weights '1:2' has 2 weights for 3 task models; expected one per task model"),
        ("1:2:inf", "--weights '1:2:inf': expected finite numbers"),
        ("uniform,uniform", "--weights: 'uniform' is given twice"),
        ("metagpt", "--weights metagpt: MetaGPT's λ are not available for these models"),
        (",", "--weights: no weighting given"),
    ])
    func badWeightsAreOneMessage(text: String, message: String) {
        #expect(throws: AnalysisError.badArgument(message)) {
            try SweepWeights(parsing: text).weightings(taskCount: 3, metagpt: nil)
        }
    }
}
