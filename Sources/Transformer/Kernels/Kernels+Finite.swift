extension Kernels {
    /// The index of the first NaN or ±Inf among `values[0 ..< count]`, or `nil` when every value is finite.
    ///
    /// One vectorised pass: Σ (x − x) over the values is 0 when every x is finite and NaN otherwise (∞ − ∞ and
    /// NaN − NaN are NaN); only a block that fails is scanned again for the index.
    static func firstNonFinite(_ values: UnsafePointer<Float>, count: Int) -> Int? {
        var lanes = SIMD8<Float>()
        let whole = count / 8 * 8
        let raw = UnsafeRawPointer(values)
        var i = 0
        while i < whole {
            let v = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            lanes += v - v
            i += 8
        }
        var tail: Float = 0
        while i < count {
            tail += values[i] - values[i]
            i += 1
        }
        if lanes.sum() + tail == 0 { return nil }
        return (0..<count).first { !values[$0].isFinite }
    }
}
