import CBLAS
import Checkpoints
import Foundation
import SafeTensors

/// The ``TaskVectorMoments`` of one aligned tensor that a task's LoRA adapter changes, with the Gram entries of
/// adapter tasks computed from their factors.
///
/// An adapter task's vector on a tensor it changes is τ = s·U·V in the tensor's orientation (U = B, V = A; with
/// `fan_in_fan_out`, U = Aᵀ, V = Bᵀ; only the compared rows of U for a vocabulary-trimmed tensor); on a tensor it
/// does not change, τ = 0. All in Float64 from the Float32 factors and the Float64 scale:
/// - adapter · adapter: ⟨s₁U₁V₁, s₂U₂V₂⟩_F = s₁s₂·tr((U₁ᵀU₂)(V₂V₁ᵀ)), O(r₁r₂(rows + columns)), B·A never formed;
/// - adapter · full fine-tune: ⟨sUV, τ⟩_F = s·Σ (Uᵀτ) ⊙ V, with Uᵀτ accumulated as τ's rows are read;
/// - full fine-tune · full fine-tune, ‖θ0‖² and the coordinate count: as the statistics pass forms them.
/// Coordinates where the base or a full fine-tune holds a non-finite value are left out of every sum, as the
/// statistics pass does: τ is taken as 0 there in Uᵀτ, and the adapter products at those coordinates (formed one
/// coordinate at a time) are subtracted from the factor formula. An adapter model holds a non-finite value where
/// the base does (θ0 + τ); factors holding a non-finite value are refused.
///
/// The per-coordinate statistics (Σ τ, Σ |τ|, max |τ|, zero counts, sign conflicts) follow from no formula on the
/// factors: with `materialise`, each row of every τ = s·U·V is formed in Float64 (one row at a time: memory is one
/// module's factors, a block of the base's rows and one row per task) and they are summed exactly as the pass sums
/// dense task vectors. Without it only the Gram entries, ‖θ0‖² and the count are computed (what λ needs), and the
/// other sums are left 0. When every task of the family is an adapter, ``fromFactors(_:_:scratch:)`` is used
/// instead: the Gram block, Σ τ and the count from the factors, the base not read, the per-coordinate statistics
/// "not computed".
struct AdaptedTensorMoments {
    /// One adapter's update to the tensor: τ = scale·U·V, U [rows, rank] and V [rank, columns] row-major.
    struct LowRank {
        let u: [Double]
        let v: [Double]
        let rank: Int
        let scale: Double

        /// τ[i, j].
        func value(_ i: Int, _ j: Int, columns: Int) -> Double {
            var sum = 0.0
            for k in 0..<rank { sum += u[i * rank + k] * v[k * columns + j] }
            return scale * sum
        }

        /// Rows `start..<start + count` of τ = scale·U·V into `block` (row-major, `columns` wide), one `dgemm`.
        func formRows(_ start: Int, count: Int, columns: Int, into block: inout [Double]) {
            u.withUnsafeBufferPointer { u in
                cblas_dgemm(
                    CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(count), Int32(columns), Int32(rank), scale,
                    u.baseAddress! + start * rank, Int32(rank), v, Int32(columns), 0, &block, Int32(columns))
            }
        }

        /// Adds U[start..<start + count, :]ᵀ · τ (τ the block's `count` rows, `columns` wide) to `target`
        /// ([rank, columns]), one `dgemm`.
        func addProjection(
            _ start: Int, count: Int, columns: Int, of block: [Double], into target: inout [Double]
        ) {
            u.withUnsafeBufferPointer { u in
                cblas_dgemm(
                    CblasRowMajor, CblasTrans, CblasNoTrans, Int32(rank), Int32(columns), Int32(count), 1,
                    u.baseAddress! + start * rank, Int32(rank), block, Int32(columns), 1, &target, Int32(columns))
            }
        }
    }

    /// How one task's vector on the tensor is had.
    enum TaskVector {
        /// θt − θ0, read from the task's checkpoint.
        case dense
        case lowRank(LowRank)
        /// An adapter that does not change this tensor.
        case zero
    }

    /// Whether some adapter task of `family` changes `tensor`.
    static func isAdapted(_ tensor: AlignedTensor, in family: ModelFamily) -> Bool {
        family.tasks.contains { $0.adapter?.updateShape(for: tensor.name) != nil }
    }

    /// Rows of the tensor read at once.
    static let blockElements = 1 << 16

    /// The moments of `tensor` (which some adapter of `family` changes; see the type's documentation).
    ///
    /// The tensor is read in blocks of whole rows. Per block: each adapter's rows of τ are formed with one `dgemm`
    /// (`materialise` only), each full fine-tune's τ in Float64, and Uᵀτ accumulated with one `dgemm` per (adapter,
    /// full fine-tune) pair; a block where every value is finite is summed task by task over contiguous buffers, one
    /// holding a non-finite value coordinate by coordinate. The adapter · adapter entries come from the factors
    /// (``lowRankInner(_:_:rows:columns:)``, O(r₁r₂(rows + columns))).
    ///
    /// - Throws: ``CheckpointError`` for factors that hold a non-finite value or do not fit the tensor; a read error.
    static func compute(_ family: ModelFamily, _ tensor: AlignedTensor, materialise: Bool) throws -> TaskVectorMoments {
        let T = family.tasks.count
        guard tensor.shape.count == 2 else {
            throw CheckpointError(
                .shapeMismatch, url: family.base.directory, tensor: tensor.name,
                "is changed by a LoRA adapter but has shape \(tensor.shape); expected a matrix")
        }
        let rows = tensor.shape[0], columns = tensor.shape[1]
        let kinds = try family.tasks.map { try taskVector($0, tensor, rows: rows, columns: columns) }
        let dense = kinds.indices.filter { if case .dense = kinds[$0] { true } else { false } }
        let lowRank: [(task: Int, update: LowRank)] = kinds.indices.compactMap {
            if case .lowRank(let update) = kinds[$0] { ($0, update) } else { nil }
        }
        var moments = TaskVectorMoments(taskCount: T)
        // Uᵀτ per (adapter, full fine-tune) pair, [rank, columns].
        var projected = lowRank.map { entry in
            dense.map { _ in [Double](repeating: 0, count: entry.update.rank * columns) }
        }
        // Σ over left-out coordinates of τa·τb per adapter pair (subtracted from the factor formula).
        var leftOut = [Double](repeating: 0, count: lowRank.count * lowRank.count)
        let blockRows = max(1, blockElements / max(columns, 1))
        let blockSize = blockRows * columns
        var base = [Float](repeating: 0, count: blockSize)
        var tasks = dense.map { _ in [Float](repeating: 0, count: blockSize) }
        // τ of each full fine-tune (0 where a value is non-finite) and of each adapter (`materialise`) in the block.
        var denseBlock = dense.map { _ in [Double](repeating: 0, count: blockSize) }
        var adapterBlock = lowRank.map { _ in [Double](repeating: 0, count: materialise ? blockSize : 0) }
        // The buffer holding task t's τ in the block, when it has one (nil: τ = 0 there).
        var sources = [Int?](repeating: nil, count: T)
        for (d, task) in dense.enumerated() { sources[task] = d }
        if materialise { for (a, entry) in lowRank.enumerated() { sources[entry.task] = dense.count + a } }
        var values = [Double](repeating: 0, count: T)
        var rowStart = 0
        while rowStart < rows {
            let count = min(blockRows, rows - rowStart)
            let n = count * columns
            let elements = (rowStart * columns)..<((rowStart + count) * columns)
            try base.withUnsafeMutableBufferPointer {
                try family.readFloat32(tensor, model: 0, elements: elements, into: .init(rebasing: $0[0..<n]))
            }
            for (d, task) in dense.enumerated() {
                try tasks[d].withUnsafeMutableBufferPointer {
                    try family.readFloat32(
                        tensor, model: task + 1, elements: elements, into: .init(rebasing: $0[0..<n]))
                }
            }
            if materialise {
                for (a, entry) in lowRank.enumerated() {
                    entry.update.formRows(rowStart, count: count, columns: columns, into: &adapterBlock[a])
                }
            }
            let finite = base[0..<n].allSatisfy(\.isFinite) && tasks.allSatisfy { $0[0..<n].allSatisfy(\.isFinite) }
            if finite {
                for d in dense.indices {
                    for i in 0..<n { denseBlock[d][i] = Double(tasks[d][i]) - Double(base[i]) }
                }
                moments.elements += n
                moments.baseSquaredNorm += base.withUnsafeBufferPointer { BlockSums.squares($0.baseAddress!, n) }
                let buffers = denseBlock + adapterBlock
                for (p, a) in dense.enumerated() {
                    for c in dense[p...] {
                        let product = BlockSums.dot(denseBlock[p], denseBlock[sources[c]!], n)
                        moments.gram[a, c] += product
                        if a != c { moments.gram[c, a] += product }
                    }
                }
                if materialise {
                    for t in 0..<T {
                        guard let source = sources[t] else {
                            moments.zeros[t] += n
                            continue
                        }
                        let sums = BlockSums.moments(buffers[source], n)
                        moments.sum[t] += sums.sum
                        moments.absoluteSum[t] += sums.absolute
                        moments.maxAbsolute[t] = max(moments.maxAbsolute[t], sums.maximum)
                        moments.zeros[t] += sums.zeros
                    }
                    if T > 1 {
                        moments.signConflicts += BlockSums.signConflicts(buffers, sources.compactMap { $0 }, n)
                    }
                }
            } else {
                for offset in 0..<n {
                    let baseValue = base[offset]
                    var finite = baseValue.isFinite
                    if !finite {
                        moments.nonFinite[0] += 1
                        for (t, kind) in kinds.enumerated() {
                            if case .dense = kind { continue }
                            moments.nonFinite[t + 1] += 1
                        }
                    }
                    for (d, task) in dense.enumerated() where !tasks[d][offset].isFinite {
                        moments.nonFinite[task + 1] += 1
                        finite = false
                    }
                    guard finite else {
                        for d in dense.indices { denseBlock[d][offset] = 0 }
                        let i = rowStart + offset / columns, j = offset % columns
                        let left = lowRank.map { $0.update.value(i, j, columns: columns) }
                        for a in lowRank.indices {
                            for c in lowRank.indices { leftOut[a * lowRank.count + c] += left[a] * left[c] }
                        }
                        continue
                    }
                    let b = Double(baseValue)
                    moments.baseSquaredNorm += b * b
                    moments.elements += 1
                    for (d, task) in dense.enumerated() {
                        let value = Double(tasks[d][offset]) - b
                        denseBlock[d][offset] = value
                        values[task] = value
                    }
                    if materialise {
                        // Tasks whose adapter does not change this tensor keep values[t] = 0.
                        for (a, entry) in lowRank.enumerated() { values[entry.task] = adapterBlock[a][offset] }
                        moments.addEntries(values)
                    }
                    for (p, a) in dense.enumerated() {
                        for c in dense[p...] {
                            let product = values[a] * values[c]
                            moments.gram[a, c] += product
                            if a != c { moments.gram[c, a] += product }
                        }
                    }
                }
            }
            for (a, entry) in lowRank.enumerated() {
                for d in dense.indices {
                    entry.update.addProjection(rowStart, count: count, columns: columns, of: denseBlock[d],
                        into: &projected[a][d])
                }
            }
            rowStart += count
        }
        for (a, first) in lowRank.enumerated() {
            for (c, second) in lowRank.enumerated() where c >= a {
                let value = lowRankInner(first.update, second.update, rows: rows, columns: columns)
                    - leftOut[a * lowRank.count + c]
                moments.gram[first.task, second.task] = value
                moments.gram[second.task, first.task] = value
            }
            for (d, task) in dense.enumerated() {
                let value = first.update.scale * BlockSums.dot(projected[a][d], first.update.v, first.update.v.count)
                moments.gram[first.task, task] = value
                moments.gram[task, first.task] = value
            }
        }
        return moments
    }

    /// Whether every task of `family` is a LoRA adapter: then ``StatisticsPass`` computes every tensor with
    /// ``fromFactors(_:_:scratch:)`` and reads no base or task weight.
    static func isFactorsOnly(_ family: ModelFamily) -> Bool {
        !family.tasks.isEmpty && family.tasks.allSatisfy { $0.adapter != nil }
    }

    /// The moments of `tensor` when every task of `family` is a LoRA adapter (``isFactorsOnly(_:)``), from the
    /// factors alone (``FactorGram``: the Gram block from the stacked factors' UᵀU and VVᵀ, B·A never formed;
    /// Σ τ = s·(1ᵀU)(V1); the count = the product of the compared shape), in Float64; a task whose adapter does not
    /// change the tensor contributes 0. The base is not read, so ‖θ0‖² and the per-coordinate statistics are "not
    /// computed" (``TaskVectorMoments/markCoordinateStatisticsNotComputed()``); non-finite base weights are not seen
    /// (τ = s·B·A does not depend on them). Memory: the tensor's factors (Float32) and one block, in `scratch`.
    ///
    /// - Throws: ``CheckpointError`` for factors that hold a non-finite value or do not fit the tensor, or an
    ///   adapted tensor that is not a matrix; a read error.
    static func fromFactors(
        _ family: ModelFamily, _ tensor: AlignedTensor, scratch: FactorGram.Scratch
    ) throws -> TaskVectorMoments {
        var moments = TaskVectorMoments(taskCount: family.tasks.count)
        moments.elements = tensor.shape.reduce(1, *)
        moments.markCoordinateStatisticsNotComputed()
        guard isAdapted(tensor, in: family) else { return moments }
        guard tensor.shape.count == 2 else {
            throw CheckpointError(
                .shapeMismatch, url: family.base.directory, tensor: tensor.name,
                "is changed by a LoRA adapter but has shape \(tensor.shape); expected a matrix")
        }
        let rows = tensor.shape[0], columns = tensor.shape[1]
        // Each changing adapter: its task, rank, scale, update shape and where its A and B go in the scratch.
        var updates: [(task: Int, adapter: LoRAAdapter, rank: Int, scale: Double, shape: [Int], a: Int, b: Int)] = []
        var total = 0
        for (task, member) in family.tasks.enumerated() {
            guard let adapter = member.adapter, let shape = adapter.updateShape(for: tensor.name),
                let rank = adapter.rank(for: tensor.name), let scale = adapter.exactScale(for: tensor.name)
            else { continue }
            guard shape.count == 2, shape[0] >= rows, shape[1] == columns else {
                throw CheckpointError(
                    .shapeMismatch, url: adapter.file.url, tensor: tensor.name,
                    "the update has shape \(shape); the family compares the tensor as \(tensor.shape)")
            }
            // A is [r, in] and B [out, r]: r·(shape[0] + shape[1]) values either way.
            let aCount = rank * (adapter.fanInFanOut ? shape[0] : shape[1])
            updates.append((task, adapter, rank, scale, shape, total, total + aCount))
            total += rank * (shape[0] + shape[1])
        }
        let floats = scratch.floats(total)
        var left: [FactorGram.Side] = [], right: [FactorGram.Side] = []
        for update in updates {
            let aCount = update.b - update.a, bCount = update.rank * (update.shape[0] + update.shape[1]) - aCount
            let a = UnsafeMutableBufferPointer(rebasing: floats[update.a..<update.b])
            let b = UnsafeMutableBufferPointer(rebasing: floats[update.b..<(update.b + bCount)])
            try update.adapter.readFactors(for: tensor.name, a: a, b: b)
            guard FactorGram.allFinite(UnsafeBufferPointer(a)), FactorGram.allFinite(UnsafeBufferPointer(b)) else {
                throw CheckpointError(
                    .badConfig, url: update.adapter.file.url, tensor: tensor.name,
                    "the LoRA factors of this module hold a non-finite value (NaN or ±inf); expected finite weights")
            }
            let r = update.rank
            if update.adapter.fanInFanOut {
                // τ = s·(B·A)ᵀ: U = Aᵀ (A is [r, shape[0]]), V = Bᵀ (B is [columns, r]).
                left.append(.init(values: a.baseAddress!, rank: r, rankMajor: true, stride: update.shape[0]))
                right.append(.init(values: b.baseAddress!, rank: r, rankMajor: false, stride: r))
            } else {
                // τ = s·B·A: U = B (the first `rows` rows), V = A.
                left.append(.init(values: b.baseAddress!, rank: r, rankMajor: false, stride: r))
                right.append(.init(values: a.baseAddress!, rank: r, rankMajor: true, stride: columns))
            }
        }
        let R = updates.reduce(0) { $0 + $1.rank }
        let u = FactorGram.accumulate(left, length: rows, scratch: scratch)
        let v = FactorGram.accumulate(right, length: columns, scratch: scratch)
        var offsets: [Int] = []
        var offset = 0
        for update in updates {
            offsets.append(offset)
            offset += update.rank
        }
        for (p, first) in updates.enumerated() {
            for q in p..<updates.count {
                let second = updates[q]
                var value = 0.0
                for k in offsets[p]..<(offsets[p] + first.rank) {
                    for l in offsets[q]..<(offsets[q] + second.rank) {
                        value += FactorGram.symmetric(u.products, k, l, size: R)
                            * FactorGram.symmetric(v.products, k, l, size: R)
                    }
                }
                value *= first.scale * second.scale
                moments.gram[first.task, second.task] = value
                moments.gram[second.task, first.task] = value
            }
            var sum = 0.0
            for k in offsets[p]..<(offsets[p] + first.rank) { sum += u.sums[k] * v.sums[k] }
            moments.sum[first.task] = first.scale * sum
        }
        return moments
    }

    /// ⟨s₁U₁V₁, s₂U₂V₂⟩_F = s₁s₂·tr((U₁ᵀU₂)(V₂V₁ᵀ)) = s₁s₂·Σ_{k,l} (U₁ᵀU₂)[k, l]·(V₁V₂ᵀ)[k, l]: two `dgemm`s of
    /// O(r₁r₂·rows) and O(r₁r₂·columns).
    static func lowRankInner(_ first: LowRank, _ second: LowRank, rows: Int, columns: Int) -> Double {
        let r1 = first.rank, r2 = second.rank
        var left = [Double](repeating: 0, count: r1 * r2)
        var right = [Double](repeating: 0, count: r1 * r2)
        cblas_dgemm(
            CblasRowMajor, CblasTrans, CblasNoTrans, Int32(r1), Int32(r2), Int32(rows), 1, first.u, Int32(r1),
            second.u, Int32(r2), 0, &left, Int32(r2))
        cblas_dgemm(
            CblasRowMajor, CblasNoTrans, CblasTrans, Int32(r1), Int32(r2), Int32(columns), 1, first.v,
            Int32(columns), second.v, Int32(columns), 0, &right, Int32(r2))
        return first.scale * second.scale * BlockSums.dot(left, right, r1 * r2)
    }

    /// Task `task`'s vector on `tensor` ([rows, columns], the compared shape).
    static func taskVector(_ task: ModelFamily.Member, _ tensor: AlignedTensor, rows: Int, columns: Int) throws
        -> TaskVector
    {
        guard let adapter = task.adapter else { return .dense }
        guard let shape = adapter.updateShape(for: tensor.name), let scale = adapter.exactScale(for: tensor.name),
            let factors = try adapter.factors(for: tensor.name)
        else { return .zero }
        let rank = factors.rank
        guard shape.count == 2, shape[0] >= rows, shape[1] == columns else {
            throw CheckpointError(
                .shapeMismatch, url: adapter.file.url, tensor: tensor.name,
                "the update has shape \(shape); the family compares the tensor as \(tensor.shape)")
        }
        guard factors.a.allSatisfy(\.isFinite), factors.b.allSatisfy(\.isFinite) else {
            throw CheckpointError(
                .badConfig, url: adapter.file.url, tensor: tensor.name,
                "the LoRA factors of this module hold a non-finite value (NaN or ±inf); expected finite weights")
        }
        var u = [Double](repeating: 0, count: rows * rank)
        var v = [Double](repeating: 0, count: rank * columns)
        if adapter.fanInFanOut {
            // τ = s·(B·A)ᵀ = s·Aᵀ·Bᵀ: A is [rank, shape[0]], B is [columns, rank].
            for i in 0..<rows {
                for k in 0..<rank { u[i * rank + k] = Double(factors.a[k * shape[0] + i]) }
            }
            for k in 0..<rank {
                for j in 0..<columns { v[k * columns + j] = Double(factors.b[j * rank + k]) }
            }
        } else {
            // τ = s·B·A: B is [shape[0], rank], A is [rank, columns]; the first `rows` rows of B.
            for index in 0..<(rows * rank) { u[index] = Double(factors.b[index]) }
            for index in 0..<(rank * columns) { v[index] = Double(factors.a[index]) }
        }
        return .lowRank(LowRank(u: u, v: v, rank: rank, scale: scale))
    }
}
