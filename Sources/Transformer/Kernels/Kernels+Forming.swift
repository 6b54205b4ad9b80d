import CKernels

extension Kernels {
    /// out[i] = θ0[i] + c₁(θ₁[i] − θ0[i]) + c₂(θ₂[i] − θ0[i]) + …, each term added left to right in the order of
    /// `tasks` (the rounding of a sum written out term by term); returns the index of the first non-finite out[i],
    /// or `nil`.
    ///
    /// One pass over the inputs (`mm_form_point`, at the machine's vector width): the elements go in tiles of
    /// 1 024 (4 KB of `out`, kept in L1 while every task's term is added), so θ0 and each θ_t are read from memory
    /// once and `out` is written once; the finiteness check is a running Σ (x − x) over the tile (see
    /// ``firstNonFinite(_:count:)``), scanned again only when it fails.
    static func formPoint(
        _ out: UnsafeMutablePointer<Float>, base: UnsafePointer<Float>, tasks: [(UnsafePointer<Float>, Float)],
        count: Int
    ) -> Int? {
        precondition(!tasks.isEmpty, "formPoint needs at least one task term")
        let thetas: [UnsafePointer<Float>?] = tasks.map { $0.0 }
        let coefficients = tasks.map { $0.1 }
        let bad = thetas.withUnsafeBufferPointer { thetas in
            mm_form_point(base, thetas.baseAddress!, coefficients, tasks.count, count, out)
        }
        if bad == 0 { return nil }
        return (0..<count).first { !out[$0].isFinite }
    }
}
