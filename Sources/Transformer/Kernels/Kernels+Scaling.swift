extension Kernels {
    /// y[i] += factor · x[i] for `count` values, the product rounded to Float32 before the sum (a residual
    /// connection with Granite's `residual_multiplier`: `residual + hidden * m`).
    static func addScaled(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count: Int, by factor: Float) {
        for i in 0..<count {
            let scaled = x[i] * factor
            y[i] += scaled
        }
    }

    /// y[i] ← y[i] / divisor for `count` values (Granite's `logits / logits_scaling`).
    static func divide(_ y: UnsafeMutablePointer<Float>, count: Int, by divisor: Float) {
        for i in 0..<count { y[i] /= divisor }
    }
}
