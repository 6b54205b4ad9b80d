import Foundation

/// MergeKit's `nearswap` between the base a and one other model b, element by element.
///
/// As `mergekit/merge_methods/nearswap.py` (0.1.5), in Float32: w = clamp(t / max(|a − b|, 1e-6), 0, 1) and
/// out = w·b + (1 − w)·a — where the two differ by less than t the other model's value is taken, and the further
/// apart they are the closer the result stays to the base. PyTorch evaluates the scalar quotient t / x as
/// reciprocal(x)·t (two roundings); so does this kernel.
final class NearSwapKernel: TensorKernel, @unchecked Sendable {
    let t: Float

    init(t: Double) {
        self.t = Float(t)
    }

    func apply(chunk: Int, range: Range<Int>, io: KernelIO, output: UnsafeMutablePointer<Float>) throws {
        let t = self.t
        let floor: Float = 1e-6
        try io.forEachBlock(range) { start, n, inputs in
            let a = inputs[0], b = inputs[1]
            let out = output + (start - range.lowerBound)
            for i in 0..<n {
                let difference = max(abs(a[i] - b[i]), floor)
                let weight = min(max((1 / difference) * t, 0), 1)
                let kept = weight * b[i]
                let based = (1 - weight) * a[i]
                out[i] = kept + based
            }
        }
    }
}
