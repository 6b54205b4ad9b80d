import Foundation
import Testing

@testable import Statistics

/// The Gram checks of the report reader, on matrices whose answer is known (eigenvalues from NumPy's `eigvalsh`).
@Suite struct ReportValidationTests {
    @Test func smallestEigenvalueMatchesNumPy() {
        // numpy.linalg.eigvalsh([[1,.9,.9],[.9,1,-.9],[.9,-.9,1]]) = [-0.8, 1.9, 1.9]
        var notPSD = [[1, 0.9, 0.9], [0.9, 1, -0.9], [0.9, -0.9, 1]]
        #expect(abs(ReportValidation.smallestEigenvalue(&notPSD) - -0.8) < 1e-12)
        // numpy.linalg.eigvalsh([[4,2,.5],[2,3,1],[.5,1,2]]) = [1.09652162, 2.07222395, 5.83125443]
        var positive = [[4, 2, 0.5], [2, 3, 1], [0.5, 1, 2]]
        #expect(abs(ReportValidation.smallestEigenvalue(&positive) - 1.09652162) < 1e-8)
    }

    @Test func gramOfRealVectorsPassesAndImpossibleOnesFail() throws {
        // Vectors (1, 0), (1, 1), (0, 2): G = [[1, 1, 0], [1, 2, 2], [0, 2, 4]], rank 2 (PSD, singular).
        let real = GramMatrix(count: 3, entries: [1, 1, 0, 1, 2, 2, 0, 2, 4])
        try ReportValidation.checkGram(real, taskNames: ["a", "b", "c"], path: "r.h5", dataset: "/tensors/gram[0]")
        // A zero task vector (row and column 0) is a real Gram matrix too.
        let zero = GramMatrix(count: 2, entries: [0, 0, 0, 3])
        try ReportValidation.checkGram(zero, taskNames: ["a", "b"], path: "r.h5", dataset: "/tensors/gram[0]")
        // Tiny and huge entries, where G_ii·G_jj underflows to 0 or overflows to ∞: cosine 0.5 all the same.
        for scale in [1e-320, 1e300] {
            let g = GramMatrix(count: 2, entries: [1, 0.5, 0.5, 1].map { $0 * scale })
            try ReportValidation.checkGram(g, taskNames: ["a", "b"], path: "r.h5", dataset: "/tensors/gram[0]")
        }
        for entries in [[1, 0, 0, -1], [1, 2, 2, 1], [1, .nan, .nan, 1], [1, 0.5, -0.5, 1]] as [[Double]] {
            #expect(throws: AnalysisError.self) {
                try ReportValidation.checkGram(
                    GramMatrix(count: 2, entries: entries), taskNames: ["a", "b"], path: "r.h5", dataset: "/g")
            }
        }
    }
}
