import CKernels
import Checkpoints
import Foundation
import SafeTensors

extension StatisticsPass {
    /// ‖τₜ‖² = Σ (θₜ − θ₀)² per aligned tensor of `family` (in `family.tensors` order) and over all of them: what
    /// MetaGPT's λ needs, without the rest of the statistics (Gram off-diagonal, sums, maxima, counts) that
    /// ``run(_:commandLine:progress:)`` computes for the gate and reports.
    ///
    /// The same pass — chunks, workers, reads — with a lighter kernel (``SquaredNormsKernel``), whose sums are
    /// ``run(_:commandLine:progress:)``'s Gram diagonal **bit for bit**, so λ from them
    /// (`GramMatrix.metagptLambdas(squaredNorms:)`) is the λ `metamerge analyze` reports. Chunk sums are added per
    /// tensor in chunk order and tensors in the family's order for the total. Each input byte is read once. Tensors a
    /// LoRA adapter task changes: ``AdaptedTensorMoments`` without materialising, the full pass's Gram diagonal too
    /// — except in a family of adapters only, where the full pass sums the factors' products in another order
    /// (``FactorGram``): equal within rounding (≈ 1e-15 relative), not bit for bit.
    ///
    /// - Parameter progress: called from worker threads with the number of input bytes just read.
    public func squaredNorms(
        _ family: ModelFamily, progress: (@Sendable (Int) -> Void)? = nil
    ) throws -> (perTensor: [[Double]], total: [Double]) {
        let T = family.tasks.count
        let chunks = try mapChunks(family, progress: progress) { stored, dtypes, range, buffers, _ in
            var sums = [Double](repeating: 0, count: T)
            try Self.forEachPiece(stored, dtypes: dtypes, range, buffers: buffers) { count in
                var block = 0
                while block < count {
                    let n = min(MomentsKernel.blockSize, count - block)
                    SquaredNormsKernel.accumulate(
                        buffers.models.map { ($0 + 4 * block).assumingMemoryBound(to: Float.self) }, count: n,
                        into: &sums)
                    block += n
                }
            }
            return sums
        }
        var perTensor = family.tensors.map { _ in [Double](repeating: 0, count: T) }
        for (tensor, sums) in chunks {
            for t in 0..<T { perTensor[tensor][t] += sums[t] }
        }
        for (index, moments) in try adaptedMoments(family, materialise: false, progress: progress) {
            perTensor[index] = moments.gram.squaredNorms
        }
        var total = [Double](repeating: 0, count: T)
        for norms in perTensor {
            for t in 0..<T { total[t] += norms[t] }
        }
        return (perTensor, total)
    }
}

/// Σ τₜ² of one kernel block, added as ``MomentsKernel`` adds its Gram diagonal: in a block of finite values, four
/// Float64 lanes per task (τ formed in Float64 from the Float32 values, `lanes += τ·τ` over the first ⌊n/4⌋·4
/// coordinates, reduced with `sum()`), added to the chunk's sum; a block holding a NaN/±inf, and each block's last
/// n mod 4 coordinates, coordinate by coordinate, leaving out coordinates where any model is non-finite.
enum SquaredNormsKernel {
    /// Adds one block's Σ τₜ² (`inputs[0]` the base, `inputs[t + 1]` task t; `n` coordinates) to `sums`.
    static func accumulate(_ inputs: [UnsafeMutablePointer<Float>], count n: Int, into sums: inout [Double]) {
        let T = inputs.count - 1
        let vectorCount = n / 4 * 4
        let base = UnsafeRawPointer(inputs[0])
        var block = [Double](repeating: 0, count: T)
        var finite = true
        for t in 0..<T {
            let x = UnsafeRawPointer(inputs[t + 1])
            // The lanes loop is C (`mm_squared_norm_lanes`), at the machine's vector width.
            var lanes = SIMD4<Double>()
            withUnsafeMutableBytes(of: &lanes) { out in
                mm_squared_norm_lanes(
                    base.assumingMemoryBound(to: Float.self), x.assumingMemoryBound(to: Float.self), vectorCount,
                    out.baseAddress!.assumingMemoryBound(to: Double.self))
            }
            block[t] = 0 + lanes.sum()
            finite = finite && block[t].isFinite
        }
        if finite {
            for t in 0..<T { sums[t] += block[t] }
        } else {
            addChecked(inputs, 0..<vectorCount, into: &sums)
        }
        if vectorCount < n { addChecked(inputs, vectorCount..<n, into: &sums) }
    }

    /// Coordinate by coordinate, leaving out those where any model is non-finite.
    static func addChecked(_ inputs: [UnsafeMutablePointer<Float>], _ range: Range<Int>, into sums: inout [Double]) {
        let T = inputs.count - 1
        for i in range {
            guard inputs.allSatisfy({ $0[i].isFinite }) else { continue }
            let b = Double(inputs[0][i])
            for t in 0..<T {
                let value = Double(inputs[t + 1][i]) - b
                sums[t] += value * value
            }
        }
    }
}
