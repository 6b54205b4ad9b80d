import Foundation

extension Kernels {
    /// LayerNorm of each row: out = w ⊙ (x − μ) / √(σ² + ε) (+ b), μ and the biased variance σ² accumulated in
    /// Double and rounded to Float32, the rest in Float32 (PyTorch's `nn.LayerNorm` in float32). `bias` nil: none.
    static func layerNorm(
        _ x: UnsafePointer<Float>, rows: Int, width: Int, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
        epsilon: Float, into out: UnsafeMutablePointer<Float>
    ) {
        for r in 0..<rows {
            let row = x + r * width
            let target = out + r * width
            var sum: Double = 0
            for j in 0..<width { sum += Double(row[j]) }
            let mean = sum / Double(width)
            var squares: Double = 0
            for j in 0..<width {
                let centred = Double(row[j]) - mean
                squares += centred * centred
            }
            let meanFloat = Float(mean)
            let scale = 1 / (Float(squares / Double(width)) + epsilon).squareRoot()
            if let bias {
                for j in 0..<width { target[j] = (row[j] - meanFloat) * scale * weight[j] + bias[j] }
            } else {
                for j in 0..<width { target[j] = (row[j] - meanFloat) * scale * weight[j] }
            }
        }
    }

    /// The activation of a plain (ungated) MLP, in place on `count` values: exact GELU ½ x (1 + erf(x / √2)),
    /// tanh GELU ½ x (1 + tanh(√(2/π) (x + 0.044715 x³))) or silu x σ(x), in Float32. The kind is chosen once.
    static func activate(_ x: UnsafeMutablePointer<Float>, count: Int, _ kind: TransformerConfig.Activation) {
        switch kind {
        case .gelu:
            let rootHalf = Float(0.5.squareRoot())
            for i in 0..<count {
                let v = x[i]
                x[i] = 0.5 * v * (1 + Foundation.erf(v * rootHalf))
            }
        case .geluTanh:
            let beta = Float((2 / Double.pi).squareRoot())
            let kappa: Float = 0.044715
            for i in 0..<count {
                let v = x[i]
                x[i] = 0.5 * v * (1 + Foundation.tanh(beta * (v + kappa * v * v * v)))
            }
        case .silu:
            for i in 0..<count {
                let v = x[i]
                x[i] = v * (1 / (1 + Foundation.exp(-v)))
            }
        }
    }

    /// The gated MLP with exact GELU, in place: g ← gelu(g) ⊙ u.
    static func geluGLU(gate g: UnsafeMutablePointer<Float>, up u: UnsafePointer<Float>, count: Int) {
        activate(g, count: count, .gelu)
        for i in 0..<count { g[i] *= u[i] }
    }
}
