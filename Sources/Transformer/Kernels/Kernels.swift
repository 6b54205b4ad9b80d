import CBLAS
import Foundation

/// The numerical building blocks of the forward pass, on raw row-major Float32 buffers.
///
/// Matrix products go through BLAS (`cblas_sgemm`); element-wise work is plain loops (`+= a * b`, never
/// `fma`, which is a library call on the baseline x86-64 target). Every formula is evaluated in Float32, in
/// the order transformers evaluates it, so results agree with PyTorch to rounding.
enum Kernels {
    /// C[M×N] = A[M×K] · W[N×K]ᵀ + β·C: a Hugging Face `Linear` (weights stored `[out, in]`) on M rows.
    ///
    /// `lda`, `ldc` are row strides (elements) of A and C; W is dense. β is 0 (overwrite) or 1 (accumulate,
    /// used to add a projection straight onto the residual stream).
    static func linear(
        _ a: UnsafePointer<Float>, lda: Int, rows m: Int, inFeatures k: Int,
        weight w: UnsafePointer<Float>, outFeatures n: Int,
        into c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool = false
    ) {
        let beta: Float = accumulate ? 1 : 0
        if m == 1 {
            // y = W x: gemv is much faster than a one-row gemm. C may be uninitialised memory: clear it rather
            // than trust every BLAS to ignore NaN garbage when β = 0.
            if !accumulate { c.update(repeating: 0, count: n) }
            cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(n), Int32(k), 1, w, Int32(k), a, 1, beta, c, 1)
        } else {
            cblas_sgemm(
                CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(n), Int32(k),
                1, a, Int32(lda), w, Int32(k), beta, c, Int32(ldc))
        }
    }

    /// y[r][j] += b[j] for every row r of an M×N row-major matrix.
    static func addBias(_ y: UnsafeMutablePointer<Float>, rows: Int, width: Int, bias: UnsafePointer<Float>) {
        for r in 0..<rows {
            let row = y + r * width
            for j in 0..<width { row[j] += bias[j] }
        }
    }

    /// RMSNorm of each row: out = w ⊙ (x · 1/√(mean(x²) + ε)).
    ///
    /// mean(x²) is accumulated in Double and rounded to Float32 before ε (Float32) is added; the scaling and the
    /// weight multiply are Float32, as in transformers' `LlamaRMSNorm` (x·rsqrt(var + eps), then weight·x).
    static func rmsNorm(
        _ x: UnsafePointer<Float>, rows: Int, width: Int, weight: UnsafePointer<Float>, epsilon: Float,
        into out: UnsafeMutablePointer<Float>
    ) {
        for r in 0..<rows {
            let row = x + r * width
            let target = out + r * width
            var sumOfSquares: Double = 0
            for j in 0..<width {
                let v = Double(row[j])
                sumOfSquares += v * v
            }
            let variance = Float(sumOfSquares / Double(width))
            let scale = 1 / (variance + epsilon).squareRoot()
            for j in 0..<width {
                target[j] = weight[j] * (row[j] * scale)
            }
        }
    }

    /// The SwiGLU gate, in place: g ← silu(g) ⊙ u with silu(x) = x · σ(x), σ(x) = 1 / (1 + e^(−x)).
    static func swiGLU(gate g: UnsafeMutablePointer<Float>, up u: UnsafePointer<Float>, count: Int) {
        for i in 0..<count {
            let x = g[i]
            let sigmoid = 1 / (1 + Foundation.exp(-x))
            g[i] = (x * sigmoid) * u[i]
        }
    }

    /// The GeGLU gate, in place: g ← gelu_tanh(g) ⊙ u with transformers' `gelu_pytorch_tanh`,
    /// gelu_tanh(x) = ½ x (1 + tanh(√(2/π) (x + 0.044715 x³))), in Float32.
    static func geluTanhGLU(gate g: UnsafeMutablePointer<Float>, up u: UnsafePointer<Float>, count: Int) {
        let beta = Float((2 / Double.pi).squareRoot())
        let kappa: Float = 0.044715
        for i in 0..<count {
            let x = g[i]
            let inner = beta * (x + kappa * x * x * x)
            g[i] = (0.5 * x * (1 + Foundation.tanh(inner))) * u[i]
        }
    }

    /// y[i] ← c · tanh(y[i] / c) for `count` values (final-logit soft-capping).
    static func softCap(_ y: UnsafeMutablePointer<Float>, count: Int, cap: Float) {
        for i in 0..<count { y[i] = Foundation.tanh(y[i] / cap) * cap }
    }

    /// y[i] += x[i] for `count` values (a residual connection).
    static func addInPlace(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count: Int) {
        for i in 0..<count { y[i] += x[i] }
    }

    /// y[i] ← y[i] · factor for `count` values (Gemma's embedding scale).
    static func scale(_ y: UnsafeMutablePointer<Float>, count: Int, by factor: Float) {
        for i in 0..<count { y[i] *= factor }
    }
}
