import Foundation
import Merging
import SafeTensors
import Testing

@Suite("MergeConfiguration built from values")
struct ConfigurationValuesTests {
    /// Paths with YAML's special characters survive (the demo once built YAML by string interpolation and broke on
    /// them), numbers are written as PyYAML reads them, and the result is parsed by the one configuration parser.
    @Test func pathsWithYAMLSyntaxAndNumbersRoundTrip() throws {
        let base = "/data/models: base #1"
        let task = "/data/a: b/task #2"
        let configuration = try MergeConfiguration(
            method: .taskArithmetic, baseModel: base, models: [(task, ["weight": 0.3])], parameters: ["lambda": 1.5],
            dtype: "float32", directory: URL(fileURLWithPath: "/tmp"))
        #expect(configuration.baseModel == base)
        #expect(configuration.models.map(\.reference) == [task])
        #expect(configuration.models[0].parameters["weight"] == .scalar(.number(0.3)))
        #expect(configuration.parameters["lambda"] == .scalar(.number(1.5)))
        #expect(configuration.text.contains("weight: 0.3") && !configuration.text.contains("e-1"))
        #expect(configuration.dtype == .f32)
    }
}
