import CBLAS
import Checkpoints
import Foundation

/// The Gram block and plain sums of the LoRA updates τ_t = s_t·U_t·V_t of one tensor ([rows, columns]), from the
/// factors only, in Float64: ``AdaptedTensorMoments/fromFactors(_:_:scratch:)``'s arithmetic.
///
/// With all updates' factors stacked (U = [U_1 … U_T], rows × R; V = [V_1; …; V_T], R × columns; R = Σ r_t), the
/// two R×R products L = UᵀU and M = VVᵀ give every entry at once:
/// ⟨s_iU_iV_i, s_jU_jV_j⟩_F = s_i s_j·tr((U_iᵀU_j)(V_jV_iᵀ)) = s_i s_j·Σ_{k∈i, l∈j} L[k, l]·M[k, l],
/// and Σ τ_t = s_t·(1ᵀU_t)(V_t1) = s_t·Σ_{k∈t} (Σ_i U[i, k])(Σ_j V[k, j]). L and M are accumulated by `dsyrk` over
/// blocks of ``blockLength`` rows (columns), each converted from the Float32 factors into a reused Float64 block:
/// O(R²(rows + columns)) flops, memory one tensor's factors (Float32) and one block; B·A is never formed.
/// U_t = B_t and V_t = A_t (with `fan_in_fan_out`, U_t = A_tᵀ and V_t = B_tᵀ; only the first `rows` rows of U_t for
/// a vocabulary-trimmed tensor).
struct FactorGram {
    /// One adapter's factor on one side (U or V), as stored: element (k, i) of the side's [rank, length] view is
    /// `values[k * stride + i]` (`rankMajor`, an A_t as U's or V's transpose) or `values[i * stride + k]` (a B_t).
    struct Side {
        let values: UnsafePointer<Float>
        let rank: Int
        let rankMajor: Bool
        let stride: Int
    }

    /// Indices (rows or columns) converted at once: R × 256 Float64 values (96 KB at R = 48).
    static let blockLength = 256

    /// A worker's reused buffers: the factors as read (Float32) and one converted block (Float64).
    final class Scratch {
        private(set) var floats = UnsafeMutableBufferPointer<Float>.allocate(capacity: 0)
        private(set) var block = UnsafeMutableBufferPointer<Double>.allocate(capacity: 0)

        /// At least `count` Floats (contents not kept).
        func floats(_ count: Int) -> UnsafeMutableBufferPointer<Float> {
            if floats.count < count {
                floats.deallocate()
                floats = .allocate(capacity: count)
            }
            return floats
        }

        /// At least `count` Doubles (contents not kept).
        func block(_ count: Int) -> UnsafeMutableBufferPointer<Double> {
            if block.count < count {
                block.deallocate()
                block = .allocate(capacity: count)
            }
            return block
        }

        deinit {
            floats.deallocate()
            block.deallocate()
        }
    }

    /// L = Σ_i u_i u_iᵀ over the `length` indices of `sides` stacked (u_i ∈ ℝ^R the i-th index's values of every
    /// side), the upper triangle of a row-major R×R matrix, and the per-rank sums Σ_i u_i.
    ///
    /// The block is laid out as the sides are stored, so that converting it reads and writes contiguously: [R, n]
    /// when every side is rank-major (`dsyrk` of X·Xᵀ), [n, R] otherwise (`dsyrk` of XᵀX, rank-major sides gathered).
    static func accumulate(_ sides: [Side], length: Int, scratch: Scratch) -> (products: [Double], sums: [Double]) {
        let R = sides.reduce(0) { $0 + $1.rank }
        var products = [Double](repeating: 0, count: R * R)
        var sums = [Double](repeating: 0, count: R)
        let block = scratch.block(R * blockLength).baseAddress!
        let rankMajor = sides.allSatisfy(\.rankMajor)
        var start = 0
        while start < length {
            let n = min(blockLength, length - start)
            var offset = 0
            for side in sides {
                for k in 0..<side.rank {
                    if rankMajor {
                        let target = block + (offset + k) * n, source = side.values + k * side.stride + start
                        for i in 0..<n { target[i] = Double(source[i]) }
                        sums[offset + k] += sum(target, n)
                    } else if side.rankMajor {
                        let target = block + offset + k, source = side.values + k * side.stride + start
                        for i in 0..<n { target[i * R] = Double(source[i]) }
                    }
                }
                if !rankMajor && !side.rankMajor {
                    for i in 0..<n {
                        let target = block + i * R + offset, source = side.values + (start + i) * side.stride
                        for k in 0..<side.rank { target[k] = Double(source[k]) }
                    }
                }
                offset += side.rank
            }
            if rankMajor {
                cblas_dsyrk(
                    CblasRowMajor, CblasUpper, CblasNoTrans, Int32(R), Int32(n), 1, block, Int32(n), 1, &products,
                    Int32(R))
            } else {
                // Per-rank sums: the block's rows added, R lanes at a time.
                sums.withUnsafeMutableBufferPointer { sums in
                    for i in 0..<n {
                        let row = block + i * R
                        for k in 0..<R { sums[k] += row[k] }
                    }
                }
                cblas_dsyrk(
                    CblasRowMajor, CblasUpper, CblasTrans, Int32(R), Int32(n), 1, block, Int32(R), 1, &products,
                    Int32(R))
            }
            start += n
        }
        return (products, sums)
    }

    /// Σ x[i] over `n` values, in eight Float64 lanes (then the lanes added, then the last n mod 8 values).
    static func sum(_ x: UnsafePointer<Double>, _ n: Int) -> Double {
        var lanes = SIMD8<Double>()
        var i = 0
        while i + 8 <= n {
            lanes += UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Double>.self)
            i += 8
        }
        var total = lanes.sum()
        while i < n {
            total += x[i]
            i += 1
        }
        return total
    }

    /// Entry (k, l) of a symmetric matrix stored as its upper triangle (row-major, `size` wide).
    static func symmetric(_ matrix: [Double], _ k: Int, _ l: Int, size: Int) -> Double {
        k <= l ? matrix[k * size + l] : matrix[l * size + k]
    }

    /// Whether every value of `values` is finite (one pass, sixteen lanes: x·0 is NaN exactly for NaN and ±∞).
    static func allFinite(_ values: UnsafeBufferPointer<Float>) -> Bool {
        guard let base = values.baseAddress else { return true }
        let n = values.count
        var lanes = SIMD16<Float>()
        var i = 0
        while i + 16 <= n {
            lanes += UnsafeRawPointer(base + i).loadUnaligned(as: SIMD16<Float>.self) * 0
            i += 16
        }
        var probe = lanes.sum()
        while i < n {
            probe += base[i] * 0
            i += 1
        }
        return probe == 0
    }
}
