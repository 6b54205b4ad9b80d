import Analysis
import Checkpoints
import Foundation
import SafeTensors

/// ‖τₜ‖² = Σ (θₜ − θ₀)² per aligned tensor of a family and over all of them: what MetaGPT's λ needs, without
/// the rest of the statistics (Gram off-diagonal, sums, maxima, counts) that ``StatisticsPass`` computes for the
/// gate and reports.
///
/// The sums are the statistics pass's Gram diagonal **bit for bit**, because they are added in its order: chunks
/// of `StatisticsPass().chunkElements` coordinates from each tensor's start; in each chunk, blocks of
/// ``blockSize`` (the statistics kernel's block); in a block of finite values, four Float64 lanes per task
/// (τ formed in Float64 from the Float32 values, `lanes += τ·τ` over the first ⌊n/4⌋·4 coordinates, reduced with
/// `sum()`), added to the chunk's sum; a block holding a NaN/±inf, and each block's last n mod 4 coordinates,
/// coordinate by coordinate, leaving out coordinates where any model is non-finite; chunks added in order per
/// tensor, tensors in the family's order for the total. So λ, computed from these with
/// `GramMatrix.metagptLambdas(squaredNorms:)`, is the λ `metamerge analyze` reports. (A test compares the two
/// passes on a family with non-finite values and ragged tails.)
///
/// Reads each input byte once with `pread` into each worker's reused buffers, like the statistics pass.
struct SquaredNormsPass {
    let threads: Int

    /// The statistics kernel's block (`MomentsKernel.blockSize`): the sums depend on it.
    static let blockSize = 16384
    /// Coordinates per `pread`: whole blocks, so reading does not change the sums.
    static let readElements = 4 * blockSize

    /// ‖τₜ‖² per tensor (in `family.tensors` order) and their total (added in that order).
    func run(
        _ family: ModelFamily, progress: (@Sendable (Int) -> Void)? = nil
    ) throws -> (perTensor: [[Double]], total: [Double]) {
        let T = family.tasks.count
        let tensors = family.tensors
        let chunkElements = StatisticsPass().chunkElements
        var items: [(tensor: Int, range: Range<Int>)] = []
        for (index, tensor) in tensors.enumerated() {
            var start = 0
            while start < tensor.elementCount {
                items.append((index, start..<min(start + chunkElements, tensor.elementCount)))
                start += chunkElements
            }
        }
        let chunks = items
        var readers: [ObjectIdentifier: PositionalReader] = [:]
        let stored: [[(reader: PositionalReader, name: String)]] = try tensors.map { tensor in
            try (0...T).map { model in
                let (file, name) = try family.storage(tensor, model: model)
                let reader = try readers[ObjectIdentifier(file)] ?? PositionalReader(file)
                readers[ObjectIdentifier(file)] = reader
                return (reader, name)
            }
        }
        let results = SlotTable<Double>(count: items.count * max(T, 1), initial: 0)
        let queue = NormsQueue(count: items.count)
        withExtendedLifetime(family) {
            DispatchQueue.concurrentPerform(iterations: min(threads, max(items.count, 1))) { _ in
                let floats = (0...T).map { _ in
                    UnsafeMutablePointer<Float>.allocate(capacity: Self.readElements)
                }
                let staging = UnsafeMutableRawPointer.allocate(byteCount: Self.readElements * 8, alignment: 64)
                defer {
                    for buffer in floats { buffer.deallocate() }
                    staging.deallocate()
                }
                var sums = [Double](repeating: 0, count: T)
                while let index = queue.next() {
                    let item = chunks[index]
                    let tensor = tensors[item.tensor]
                    do {
                        for t in 0..<T { sums[t] = 0 }
                        var start = item.range.lowerBound
                        while start < item.range.upperBound {
                            let piece = start..<min(start + Self.readElements, item.range.upperBound)
                            for model in 0...T {
                                let (reader, name) = stored[item.tensor][model]
                                let dtype = tensor.dtypes[model]
                                if dtype == .f32 {
                                    try reader.readBytes(name, elements: piece, into: floats[model])
                                } else {
                                    try reader.readBytes(name, elements: piece, into: staging)
                                    FloatConversion.decode(dtype, from: staging, count: piece.count, into: floats[model])
                                }
                            }
                            var block = 0
                            while block < piece.count {
                                let n = min(Self.blockSize, piece.count - block)
                                Self.accumulate(floats.map { $0 + block }, count: n, into: &sums)
                                block += n
                            }
                            start = piece.upperBound
                        }
                    } catch {
                        queue.fail(error)
                        return
                    }
                    for t in 0..<T { results[index * T + t] = sums[t] }
                    progress?(item.range.count * tensor.dtypes.reduce(0) { $0 + $1.byteSize })
                }
            }
        }
        if let error = queue.error { throw error }
        var perTensor = tensors.map { _ in [Double](repeating: 0, count: T) }
        for (index, item) in items.enumerated() {
            for t in 0..<T { perTensor[item.tensor][t] += results[index * T + t] }
        }
        var total = [Double](repeating: 0, count: T)
        for norms in perTensor {
            for t in 0..<T { total[t] += norms[t] }
        }
        return (perTensor, total)
    }

    /// Adds one block's Σ τₜ² to `sums`, as the statistics kernel adds it to its Gram diagonal.
    static func accumulate(_ inputs: [UnsafeMutablePointer<Float>], count n: Int, into sums: inout [Double]) {
        let T = inputs.count - 1
        let vectorCount = n / 4 * 4
        let base = UnsafeRawPointer(inputs[0])
        var block = [Double](repeating: 0, count: T)
        var finite = true
        for t in 0..<T {
            let x = UnsafeRawPointer(inputs[t + 1])
            var lanes = SIMD4<Double>()
            var i = 0
            while i < vectorCount {
                let b = SIMD4<Double>(base.loadUnaligned(fromByteOffset: 4 * i, as: SIMD4<Float>.self))
                let d = SIMD4<Double>(x.loadUnaligned(fromByteOffset: 4 * i, as: SIMD4<Float>.self)) - b
                lanes += d * d
                i &+= 4
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

/// The next chunk to take, and the first error.
private final class NormsQueue: @unchecked Sendable {
    private let lock = NSLock()
    private let count: Int
    private var nextIndex = 0
    private(set) var error: (any Error)?

    init(count: Int) { self.count = count }

    func next() -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard error == nil, nextIndex < count else { return nil }
        defer { nextIndex += 1 }
        return nextIndex
    }

    func fail(_ error: any Error) {
        lock.lock()
        defer { lock.unlock() }
        if self.error == nil { self.error = error }
    }
}
