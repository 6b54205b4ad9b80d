/// Sums over one block of finite Float64 task-vector values (``AdaptedTensorMoments``), four lanes at a time, each
/// lane accumulated separately and the lanes added at the end, then the last n mod 4 values one by one.
enum BlockSums {
    typealias Lanes = SIMD4<Double>

    /// Σ Double(x[i])² over `n` Float values.
    static func squares(_ x: UnsafePointer<Float>, _ n: Int) -> Double {
        var lanes = Lanes()
        var i = 0
        while i + 4 <= n {
            let v = Lanes(UnsafeRawPointer(x + i).loadUnaligned(as: SIMD4<Float>.self))
            lanes += v * v
            i += 4
        }
        var total = lanes.sum()
        while i < n {
            let v = Double(x[i])
            total += v * v
            i += 1
        }
        return total
    }

    /// Σ a[i]·b[i] over the first `n` values.
    static func dot(_ a: [Double], _ b: [Double], _ n: Int) -> Double {
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                let a = UnsafeRawPointer(a.baseAddress!), b = UnsafeRawPointer(b.baseAddress!)
                var lanes = Lanes()
                var i = 0
                while i + 4 <= n {
                    lanes += a.loadUnaligned(fromByteOffset: 8 * i, as: Lanes.self)
                        * b.loadUnaligned(fromByteOffset: 8 * i, as: Lanes.self)
                    i += 4
                }
                var total = lanes.sum()
                while i < n {
                    total +=
                        a.load(fromByteOffset: 8 * i, as: Double.self) * b.load(fromByteOffset: 8 * i, as: Double.self)
                    i += 1
                }
                return total
            }
        }
    }

    /// Σ x, Σ |x|, max |x| and the count of exact zeros over the first `n` values of `x`.
    static func moments(_ x: [Double], _ n: Int) -> (sum: Double, absolute: Double, maximum: Double, zeros: Int) {
        x.withUnsafeBufferPointer { buffer in
            let x = UnsafeRawPointer(buffer.baseAddress!)
            var sum = Lanes(), absolute = Lanes(), maximum = Lanes()
            var zeros = MomentsKernel.Counts()
            var i = 0
            while i + 4 <= n {
                let v = x.loadUnaligned(fromByteOffset: 8 * i, as: Lanes.self)
                let magnitude = MomentsKernel.magnitude(v)
                sum += v
                absolute += magnitude
                maximum = MomentsKernel.maximum(maximum, magnitude)
                zeros &+= MomentsKernel.ones(v .== 0)
                i += 4
            }
            var totals = (sum.sum(), absolute.sum(), maximum.max(), Int(zeros.wrappedSum()))
            while i < n {
                let v = x.load(fromByteOffset: 8 * i, as: Double.self)
                totals.0 += v
                totals.1 += Swift.abs(v)
                totals.2 = Swift.max(totals.2, Swift.abs(v))
                totals.3 += v == 0 ? 1 : 0
                i += 1
            }
            return totals
        }
    }

    /// The coordinates among the first `n` where the non-zero values of `buffers[k]` (k in `tasks`) disagree in sign.
    static func signConflicts(_ buffers: [[Double]], _ tasks: [Int], _ n: Int) -> Int {
        var positive = [Bool](repeating: false, count: n)
        var negative = [Bool](repeating: false, count: n)
        for task in tasks {
            buffers[task].withUnsafeBufferPointer { x in
                for i in 0..<n {
                    positive[i] = positive[i] || x[i] > 0
                    negative[i] = negative[i] || x[i] < 0
                }
            }
        }
        var count = 0
        for i in 0..<n where positive[i] && negative[i] { count += 1 }
        return count
    }
}
