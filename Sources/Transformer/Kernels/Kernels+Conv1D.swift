import CBLAS

extension Kernels {
    /// C[M×N] = A[M×K] · W[K×N] + β·C: a GPT-2 `Conv1D` (weights stored `[in, out]`) on M rows, for N columns of a
    /// weight whose rows have stride `ldw`. β is 0 (overwrite) or 1 (accumulate).
    static func linearTransposed(
        _ a: UnsafePointer<Float>, lda: Int, rows m: Int, inFeatures k: Int,
        weight w: UnsafePointer<Float>, ldw: Int, outFeatures n: Int,
        into c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool = false
    ) {
        if !accumulate {
            // C may be uninitialised memory: clear it rather than trust every BLAS to ignore NaN garbage at β = 0.
            for r in 0..<m { (c + r * ldc).update(repeating: 0, count: n) }
        }
        cblas_sgemm(
            CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k),
            1, a, Int32(lda), w, Int32(ldw), 1, c, Int32(ldc))
    }
}
