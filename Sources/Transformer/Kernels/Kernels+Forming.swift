extension Kernels {
    /// out[i] = θ0[i] + c₁(θ₁[i] − θ0[i]) + c₂(θ₂[i] − θ0[i]) + …, each term added left to right in the order of
    /// `tasks` (the rounding of a sum written out term by term); returns the index of the first non-finite out[i],
    /// or `nil`.
    ///
    /// One pass over the inputs: the elements go in tiles of 1 024 (4 KB of `out`, kept in L1 while every task's
    /// term is added), so θ0 and each θ_t are read from memory once and `out` is written once; the finiteness check
    /// is a running Σ (x − x) over the tile (see ``firstNonFinite(_:count:)``), scanned again only when it fails.
    static func formPoint(
        _ out: UnsafeMutablePointer<Float>, base: UnsafePointer<Float>, tasks: [(UnsafePointer<Float>, Float)],
        count: Int
    ) -> Int? {
        precondition(!tasks.isEmpty, "formPoint needs at least one task term")
        let tile = 1024
        var check = SIMD8<Float>()
        var tail: Float = 0
        var start = 0
        while start < count {
            let n = min(tile, count - start)
            let whole = n / 8 * 8
            let b = UnsafeRawPointer(base + start)
            let o = UnsafeMutableRawPointer(out + start)
            for (k, (theta, c)) in tasks.enumerated() {
                let t = UnsafeRawPointer(theta + start)
                let cs = SIMD8<Float>(repeating: c)
                var i = 0
                if k == 0 {
                    while i < whole {
                        let bv = b.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
                        let tv = t.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
                        o.storeBytes(of: bv + cs * (tv - bv), toByteOffset: i * 4, as: SIMD8<Float>.self)
                        i += 8
                    }
                    while i < n {
                        out[start + i] = base[start + i] + c * (theta[start + i] - base[start + i])
                        i += 1
                    }
                } else {
                    while i < whole {
                        let bv = b.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
                        let tv = t.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
                        let ov = o.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
                        o.storeBytes(of: ov + cs * (tv - bv), toByteOffset: i * 4, as: SIMD8<Float>.self)
                        i += 8
                    }
                    while i < n {
                        out[start + i] += c * (theta[start + i] - base[start + i])
                        i += 1
                    }
                }
            }
            var i = 0
            while i < whole {
                let v = UnsafeRawPointer(o).loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
                check += v - v
                i += 8
            }
            while i < n {
                tail += out[start + i] - out[start + i]
                i += 1
            }
            start += n
        }
        if check.sum() + tail == 0 { return nil }
        return (0..<count).first { !out[$0].isFinite }
    }
}
