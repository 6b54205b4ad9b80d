import Foundation
import Testing

@testable import Transformer

/// `Kernels.formedLinear` (the routed experts' fused forming and product, `mm_form_linear`) against plain loops:
/// the weights formed term by term in Float32 as `CombinedWeights` forms them, the product summed in Float64.
@Suite("MoE formed products: the fused forming and product against plain loops")
struct MoeFormedLinearTests {
    /// Deterministic values in about [-1, 1).
    static func values(_ count: Int, seed: Int) -> [Float] {
        (0..<count).map { Float(((($0 + 1) * 7919 + seed * 104_729) % 2003) - 1001) / 1001 }
    }

    /// The reference: W[j][k] = θ0 + c₁(θ₁ − θ0) + c₂(θ₂ − θ0) … (Float32, left to right) for the `n` rows from
    /// element `offset`, and y[i][j] = Σ_k x[i][k] · W[j][k] in Float64.
    static func reference(
        base: [Float], tasks: [[Float]], coefficients: [Float], offset: Int, n: Int, K: Int, x: [Float], lda: Int,
        m: Int
    ) -> (weights: [Float], y: [[Double]]) {
        var weights = [Float](repeating: 0, count: n * K)
        for e in 0..<(n * K) {
            let b = base[offset + e]
            var w = b
            for (t, c) in zip(tasks, coefficients) { w = w + (t[offset + e] - b) * c }
            weights[e] = w
        }
        let y = (0..<m).map { i in
            (0..<n).map { j in (0..<K).reduce(0.0) { $0 + Double(x[i * lda + $1]) * Double(weights[j * K + $1]) } }
        }
        return (weights, y)
    }

    /// Runs the kernel; returns whether it reported finite weights, y (m × ldc) and the formed buffer.
    static func run(
        base: [Float], tasks: [[Float]], coefficients: [Float], offset: Int, n: Int, K: Int, x: [Float], lda: Int,
        m: Int, ldc: Int
    ) -> (finite: Bool, y: [Float], formed: [Float]) {
        var y = [Float](repeating: .nan, count: max(1, m * ldc))
        var formed = [Float](repeating: .nan, count: n * K)
        let finite = withArrays(tasks) { pointers in
            coefficients.withUnsafeBufferPointer { c in
                base.withUnsafeBufferPointer { base in
                    x.withUnsafeBufferPointer { x in
                        Kernels.formedLinear(
                            base: base.baseAddress!, tasks: pointers, coefficients: c, offset: offset, weightRows: n,
                            inFeatures: K, input: x.baseAddress!, lda: lda, rows: m, into: &y, ldc: ldc,
                            formed: &formed)
                    }
                }
            }
        }
        return (finite, y, formed)
    }

    /// Calls `body` with pointers to the arrays' storage (kept alive for the call).
    static func withArrays<R>(_ arrays: [[Float]], _ body: (UnsafeBufferPointer<UnsafePointer<Float>?>) -> R) -> R {
        let copies = arrays.map { array in
            let pointer = UnsafeMutablePointer<Float>.allocate(capacity: array.count)
            pointer.initialize(from: array, count: array.count)
            return pointer
        }
        defer { for pointer in copies { pointer.deallocate() } }
        let pointers: [UnsafePointer<Float>?] = copies.map { UnsafePointer($0) }
        return pointers.withUnsafeBufferPointer(body)
    }

    @Test(
        "every tile shape and remainder: rows m, weight rows n, K with and without a tail of 16, 0 to 3 task terms",
        arguments: [[1, 1, 16, 0], [4, 4, 64, 1], [7, 6, 37, 2], [3, 5, 48, 3], [9, 8, 131, 2], [32, 16, 256, 2]])
    func matchesPlainLoops(shape: [Int]) {
        let (m, n, K, taskCount) = (shape[0], shape[1], shape[2], shape[3])
        let offset = 3 * K
        let rowsStored = n + 5
        let base = Self.values(rowsStored * K, seed: 1).map { $0 * 0.02 }
        let tasks = (0..<taskCount).map { t in
            zip(base, Self.values(rowsStored * K, seed: 2 + t)).map { $0 + $1 * 0.001 }
        }
        let coefficients = [Float]([0.5, -0.25, 1.5].prefix(taskCount))
        let lda = K + 3
        let ldc = n + 2
        let x = Self.values(m * lda, seed: 9)
        let expected = Self.reference(
            base: base, tasks: tasks, coefficients: coefficients, offset: offset, n: n, K: K, x: x, lda: lda, m: m)
        let got = Self.run(
            base: base, tasks: tasks, coefficients: coefficients, offset: offset, n: n, K: K, x: x, lda: lda, m: m,
            ldc: ldc)
        #expect(got.finite)
        if taskCount > 0 {
            // The forming is mm_form_point's: bit for bit the reference's Float32 terms.
            #expect(got.formed == expected.weights)
        }
        var worst = 0.0
        for i in 0..<m {
            for j in 0..<n {
                // Float32 rounding of a K-term dot product: within K · ε of Σ |x w|.
                let scale = (0..<K).reduce(0.0) {
                    $0 + abs(Double(x[i * lda + $1]) * Double(expected.weights[j * K + $1]))
                }
                worst = max(worst, abs(Double(got.y[i * ldc + j]) - expected.y[i][j]) / scale)
            }
            // Columns beyond n are not written.
            for j in n..<ldc { #expect(got.y[i * ldc + j].isNaN) }
        }
        #expect(worst <= Double(K) * 1.2e-7)
    }

    @Test("a non-finite formed weight (from a task's NaN, or θ0's ±Inf when there are no terms) is reported")
    func reportsNonFinite() {
        let K = 32
        let n = 4
        let base = Self.values(n * K, seed: 1)
        var task = base
        task[2 * K + 5] = .nan
        let x = Self.values(2 * K, seed: 3)
        func finite(_ base: [Float], _ tasks: [[Float]], _ c: [Float], rows n: Int) -> Bool {
            Self.run(base: base, tasks: tasks, coefficients: c, offset: 0, n: n, K: K, x: x, lda: K, m: 2, ldc: n)
                .finite
        }
        #expect(!finite(base, [task], [0.5], rows: n))
        // The NaN's row lies outside a strip of rows 0..<2: finite there.
        #expect(finite(base, [task], [0.5], rows: 2))
        var infinite = base
        infinite[K * n - 1] = -.infinity
        #expect(!finite(infinite, [], [], rows: n))
    }
}
