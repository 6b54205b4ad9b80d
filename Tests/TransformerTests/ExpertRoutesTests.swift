import Foundation
import Testing

@testable import Transformer

/// Top-k routing on router logits whose softmax is known by hand.
@Suite("Expert routing: softmax, top-k, renormalisation")
struct ExpertRoutesTests {
    static func experts(k: Int, normalized: Bool) -> MixtureOfExperts {
        MixtureOfExperts(
            expertCount: 4, expertsPerToken: k, intermediateSize: 1, normalizesTopK: normalized, naming: .mixtral)
    }

    /// Token 0: logits ln 1, ln 2, ln 3, ln 4 → p = (0.1, 0.2, 0.3, 0.4); token 1: equal logits → p = 0.25 each.
    static let logits: [Float] = [0, Float(log(2.0)), Float(log(3.0)), Float(log(4.0)), 5, 5, 5, 5]

    @Test("top-2 renormalised (Mixtral): experts 3 and 2 with 4/7 and 3/7; ties go to the lower expert index")
    func renormalised() {
        let routes = Self.logits.withUnsafeBufferPointer {
            ExpertRoutes(logits: $0.baseAddress!, tokenCount: 2, experts: Self.experts(k: 2, normalized: true))
        }
        #expect(routes.tokens == [[1], [1], [0], [0]])
        #expect(abs(routes.weights[3][0] - 4 / 7) < 1e-6 && abs(routes.weights[2][0] - 3 / 7) < 1e-6)
        #expect(routes.weights[0] == [0.5] && routes.weights[1] == [0.5])
    }

    @Test("top-2 not renormalised (Qwen3-MoE default): the softmax probabilities themselves")
    func probabilities() {
        let routes = Self.logits.withUnsafeBufferPointer {
            ExpertRoutes(logits: $0.baseAddress!, tokenCount: 2, experts: Self.experts(k: 2, normalized: false))
        }
        #expect(abs(routes.weights[3][0] - 0.4) < 1e-6 && abs(routes.weights[2][0] - 0.3) < 1e-6)
        #expect(routes.weights[0] == [0.25] && routes.weights[1] == [0.25])
    }

    @Test("NaN logits still choose k distinct experts (the non-finite logits are reported later, not a crash)")
    func notANumber() {
        let logits: [Float] = [.nan, .nan, .nan, .nan]
        let routes = logits.withUnsafeBufferPointer {
            ExpertRoutes(logits: $0.baseAddress!, tokenCount: 1, experts: Self.experts(k: 3, normalized: true))
        }
        #expect(routes.tokens.map(\.count) == [1, 1, 1, 0])
    }
}
