import CKernels

extension Kernels {
    /// One strip of a product whose weights are formed on the fly (`mm_form_linear`): W = the `weightRows` rows of
    /// length K starting at element `offset` of θ0 (`base`) and of each θ_t in `tasks`, formed as
    /// ``formPoint(_:base:tasks:count:)`` forms them (bit for bit) into `formed` (room for weightRows · K) when there
    /// are task terms, else θ0's rows themselves; then y[i·ldc + j] = Σ_k x[i·lda + k] · W[j·K + k] for i < `rows`,
    /// j < `weightRows`.
    ///
    /// The strip is formed and multiplied at once, while it is in cache. The product is a dot product per entry in
    /// 16 Float32 lanes summed across the lanes (fused multiply-add where the CPU has it): BLAS's rounding of the same
    /// product, not its bits. Returns `false`, computing no product, when a value of W is not finite.
    static func formedLinear(
        base: UnsafePointer<Float>, tasks: UnsafeBufferPointer<UnsafePointer<Float>?>,
        coefficients: UnsafeBufferPointer<Float>, offset: Int, weightRows n: Int, inFeatures K: Int,
        input x: UnsafePointer<Float>, lda: Int, rows m: Int, into y: UnsafeMutablePointer<Float>, ldc: Int,
        formed: UnsafeMutablePointer<Float>
    ) -> Bool {
        precondition(tasks.count == coefficients.count, "one coefficient per task term")
        return mm_form_linear(
            base, tasks.baseAddress, coefficients.baseAddress, tasks.count, offset, n, K, x, lda, m, y, ldc, formed
        ) == 0
    }
}
