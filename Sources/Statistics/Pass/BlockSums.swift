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

    /// The coordinates among the first `n` where the non-zero values of `buffers[k]` (k in `tasks`) disagree in sign:
    /// where the largest value is > 0 and the smallest < 0.
    static func signConflicts(_ buffers: [[Double]], _ tasks: [Int], _ n: Int) -> Int {
        guard tasks.count > 1 else { return 0 }
        // The arrays' storage, kept alive and unmodified (`buffers` is a constant) until the count is done.
        let pointers = tasks.map { task in buffers[task].withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress!) } }
        return withExtendedLifetime(buffers) {
            var counts = MomentsKernel.Counts()
            let zero = Lanes()
            var i = 0
            while i + 4 <= n {
                var largest = pointers[0].loadUnaligned(fromByteOffset: 8 * i, as: Lanes.self)
                var smallest = largest
                for pointer in pointers.dropFirst() {
                    let v = pointer.loadUnaligned(fromByteOffset: 8 * i, as: Lanes.self)
                    largest = largest.replacing(with: v, where: v .> largest)
                    smallest = smallest.replacing(with: v, where: v .< smallest)
                }
                counts &+= MomentsKernel.ones((largest .> zero) .& (smallest .< zero))
                i += 4
            }
            var count = Int(counts.wrappedSum())
            while i < n {
                var positive = false, negative = false
                for pointer in pointers {
                    let v = pointer.load(fromByteOffset: 8 * i, as: Double.self)
                    positive = positive || v > 0
                    negative = negative || v < 0
                }
                count += positive && negative ? 1 : 0
                i += 1
            }
            return count
        }
    }
}
