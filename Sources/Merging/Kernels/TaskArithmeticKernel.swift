import Foundation

/// MergeKit's generalized task arithmetic (`task_arithmetic`, `ties`, `dare_linear`, `dare_ties`, `breadcrumbs`,
/// `breadcrumbs_ties`, `della`, `della_linear`) and the MetaGPT combinations, which run it with λ as weights.
///
/// Inputs: the base b, then the task models θ₁…θ_T. In Float32, in MergeKit's order of operations
/// (`GeneralizedTaskArithmeticMerge.merge_group`):
///
/// 1. δₜ = θₜ − b;
/// 2. sparsify: δₜ ← δₜ·mₜ with the method's mask, then, with `rescale`, δₜ ← δₜ·(‖δₜ‖₁ / ‖δₜ·mₜ‖₁) — an L1
///    match, not 1/density (skipped when either norm is below 1e-7); a model with density ≥ 1 is untouched;
/// 3. Wₜ = δₜ·wₜ (the weights scale the deltas **before** the sign election);
/// 4. with sign consensus: the majority sign is that of Σₜ Wₜ (≥ 0 counts as +), mₜ = [sign Wₜ = majority],
///    mixed = Σₜ Wₜ·mₜ, divisor = Σₜ wₜ·mₜ (0 → 1); without: mixed = Σₜ Wₜ, divisor = Σₜ wₜ (|·| < 1e-8 → 1);
/// 5. with `normalize`, mixed ← mixed / divisor; with λ ≠ 1, mixed ← λ·mixed;
/// 6. out = b + mixed.
///
/// Masks: `magnitude` keeps the k = max(1, ⌊density·n⌋) largest |δ| (ties at the cut: lower flat index first);
/// `magnitude_outliers` sorts |δ| ascending (same tie rule), drops the first n_bot = max(0, n − ⌊density·n⌋ −
/// ⌊γ·n⌋) and keeps the next ⌊density·n⌋; `random` keeps each element with probability density;
/// `della_magprune` ranks |δ| within each row (r = 1…L, ties by column), keeps with probability
/// (density − ε) + 2ε·(r − 1)/(L − 1).
final class TaskArithmeticKernel: TensorKernel, @unchecked Sendable {
    struct Settings: Sendable {
        var sparsification: Sparsification?
        var consensus: Bool
        var normalize: Bool
        var rescale: Bool
        var lambda: Double
        /// Per task model.
        var weights: [Double]
        var densities: [Double]
        var gammas: [Double]
        var epsilons: [Double]
        var seed: UInt64
    }

    enum Mode {
        /// Produce the merged tensor.
        case merge
        /// Only measure ‖sparsified δₜ‖² (MetaGPT's `norm_source: sparsified`); no output.
        case squaredNorms
    }

    enum ModelPlan {
        case keepAll
        case dropAll
        case magnitude(target: Int)
        case outliers(low: Int, high: Int)
        case random(threshold: UInt64)
        case della(density: Double, epsilon: Double)
    }

    enum Pass { case select1, select2, selectedL1, randomL1, della, norms }

    let name: String
    let shape: [Int]
    let count: Int
    let tasks: Int
    let settings: Settings
    let mode: Mode
    let plans: [ModelPlan]
    let passes: [Pass]
    let weights: [Float]
    let lambda: Float
    let divisorWithoutConsensus: Float
    let randoms: [CounterRandom]
    private let selection: RankSelection?
    private var factors: [Float?]
    private var before: SlotTable<Double>?
    private var after: SlotTable<Double>?
    private var dellaMasks: SlotTable<UInt64>?
    private var maskWords = 0
    private var chunkCount = 0
    /// ‖sparsified δₜ‖² per task (``Mode/squaredNorms``).
    private(set) var squaredNorms: [Double]

    /// - Throws: ``MergeConfigError`` for a DELLA ε that puts density ± ε outside (0, 1), or DELLA on a tensor of
    ///   rank > 2.
    init(name: String, shape: [Int], settings: Settings, mode: Mode = .merge) throws {
        self.name = name
        self.shape = shape
        self.count = shape.reduce(1, *)
        self.tasks = settings.weights.count
        self.settings = settings
        self.mode = mode
        let n = count
        var targets: [RankSelection.Target] = []
        var plans: [ModelPlan] = []
        for t in 0..<settings.weights.count {
            let density = settings.densities[t]
            switch settings.sparsification {
            case nil:
                plans.append(.keepAll)
            case .magnitude?:
                if density >= 1 {
                    plans.append(.keepAll)
                } else if density <= 0 || n == 0 {
                    plans.append(.dropAll)
                } else {
                    targets.append(.init(model: t, rank: max(1, Int(density * Double(n))), descending: true))
                    plans.append(.magnitude(target: targets.count - 1))
                }
            case .magnitudeOutliers?:
                if density >= 1 {
                    plans.append(.keepAll)
                } else {
                    let keep = Int(density * Double(n))
                    let top = Int(settings.gammas[t] * Double(n))
                    let bottom = max(0, n - keep - top)
                    if keep <= 0 {
                        plans.append(.dropAll)
                    } else {
                        targets.append(.init(model: t, rank: bottom, descending: false))
                        targets.append(.init(model: t, rank: bottom + keep, descending: false))
                        plans.append(.outliers(low: targets.count - 2, high: targets.count - 1))
                    }
                }
            case .random?:
                plans.append(density >= 1 ? .keepAll : .random(threshold: CounterRandom.threshold(probability: density)))
            case .dellaMagprune?:
                if density >= 1 {
                    plans.append(.keepAll)
                } else if density <= 0 {
                    plans.append(.dropAll)
                } else {
                    let epsilon = settings.epsilons[t]
                    guard density + epsilon < 1, density - epsilon > 0 else {
                        throw MergeConfigError(
                            .badValue,
                            "tensor '\(name)': epsilon \(formatNumber(epsilon)) with density \(formatNumber(density)) puts density ± epsilon outside (0, 1), as DELLA requires")
                    }
                    guard shape.count <= 2 else {
                        throw MergeConfigError(.badValue, "tensor '\(name)': DELLA ranks within rows; tensors of rank \(shape.count) > 2 are not supported")
                    }
                    plans.append(.della(density: density, epsilon: epsilon))
                }
            }
        }
        self.plans = plans
        self.selection = targets.isEmpty ? nil : RankSelection(models: settings.weights.count, elementCount: n, targets: targets)
        var passes: [Pass] = []
        if selection != nil {
            passes += [.select1, .select2]
            if settings.rescale { passes.append(.selectedL1) }
        }
        if settings.rescale, plans.contains(where: { if case .random = $0 { true } else { false } }) {
            passes.append(.randomL1)
        }
        if plans.contains(where: { if case .della = $0 { true } else { false } }) {
            passes.append(.della)
        }
        if mode == .squaredNorms { passes.append(.norms) }
        self.passes = passes
        weights = settings.weights.map { Float($0) }
        lambda = Float(settings.lambda)
        var divisor: Float = 0
        for w in weights { divisor += w }
        divisorWithoutConsensus = abs(divisor) < 1e-8 ? 1 : divisor
        randoms = (0..<settings.weights.count).map { CounterRandom(seed: settings.seed, tensor: name, input: $0 + 1) }
        factors = [Float?](repeating: nil, count: settings.weights.count)
        squaredNorms = [Double](repeating: 0, count: settings.weights.count)
    }

    var passCount: Int { passes.count }

    var lineLength: Int {
        guard passes.contains(.della) else { return 1 }
        if shape.count < 2 { return max(count, 1) }
        let row = shape[1]
        return row / gcd(row, 64) * 64
    }

    private var rowLength: Int { shape.count < 2 ? max(count, 1) : shape[1] }

    func beginPass(_ pass: Int, chunkCount: Int, workers: Int) {
        self.chunkCount = chunkCount
        switch passes[pass] {
        case .select1:
            selection!.beginPass1(workers: workers)
            if settings.rescale { before = SlotTable(count: chunkCount * tasks, initial: 0) }
        case .select2:
            selection!.beginPass2(chunkCount: chunkCount)
        case .selectedL1:
            after = SlotTable(count: chunkCount * tasks, initial: 0)
        case .randomL1:
            before = SlotTable(count: chunkCount * tasks, initial: 0)
            after = SlotTable(count: chunkCount * tasks, initial: 0)
        case .della:
            maskWords = (count + 63) / 64
            dellaMasks = SlotTable(count: tasks * maskWords, initial: 0)
            before = SlotTable(count: chunkCount * tasks, initial: 0)
            after = SlotTable(count: chunkCount * tasks, initial: 0)
        case .norms:
            after = SlotTable(count: chunkCount * tasks, initial: 0)
        }
    }

    func reduce(_ pass: Int, chunk: Int, range: Range<Int>, io: KernelIO) throws {
        switch passes[pass] {
        case .select1: try select1(chunk: chunk, range: range, io: io)
        case .select2: try select2(chunk: chunk, range: range, io: io)
        case .selectedL1, .randomL1, .norms: try sums(passes[pass], chunk: chunk, range: range, io: io)
        case .della: try della(chunk: chunk, range: range, io: io)
        }
    }

    func endPass(_ pass: Int) throws {
        switch passes[pass] {
        case .select1:
            selection!.endPass1()
        case .select2:
            selection!.endPass2()
        case .selectedL1, .randomL1, .della:
            for t in 0..<tasks {
                guard settings.rescale else { continue }
                switch plans[t] {
                case .keepAll, .dropAll: continue
                default: break
                }
                var total = 0.0, kept = 0.0
                for chunk in 0..<chunkCount {
                    total += before![chunk * tasks + t]
                    kept += after![chunk * tasks + t]
                }
                let beforeScale = Float(total), afterScale = Float(kept)
                factors[t] = beforeScale < 1e-7 || afterScale < 1e-7 ? nil : beforeScale / afterScale
            }
            if passes[pass] != .della { before = nil; after = nil }
        case .norms:
            for t in 0..<tasks {
                var sum = 0.0
                for chunk in 0..<chunkCount { sum += after![chunk * tasks + t] }
                squaredNorms[t] = sum
            }
            after = nil
        }
    }

    // MARK: Passes

    private func select1(chunk: Int, range: Range<Int>, io: KernelIO) throws {
        let selection = selection!
        var absoluteSums = [Double](repeating: 0, count: tasks)
        try io.forEachBlock(range) { _, n, inputs in
            let base = inputs[0]
            for t in 0..<tasks {
                switch plans[t] {
                case .magnitude, .outliers: break
                default: continue
                }
                let histogram = selection.histogram(model: t, worker: io.worker)
                let x = inputs[t + 1]
                var absoluteSum = 0.0
                for i in 0..<n {
                    let delta = x[i] - base[i]
                    histogram[Int(magnitudeKey(delta) >> 16)] &+= 1
                    absoluteSum += Double(abs(delta))
                }
                absoluteSums[t] += absoluteSum
            }
        }
        if settings.rescale, let before {
            for t in 0..<tasks { before[chunk * tasks + t] = absoluteSums[t] }
        }
    }

    private func select2(chunk: Int, range: Range<Int>, io: KernelIO) throws {
        let selection = selection!
        var keys = [[UInt32]](repeating: [], count: tasks)
        let bins = (0..<tasks).map { selection.bins(of: $0) }
        try io.forEachBlock(range) { _, n, inputs in
            let base = inputs[0]
            for t in 0..<tasks where !bins[t].isEmpty {
                let x = inputs[t + 1]
                let first = bins[t][0], second = bins[t].count > 1 ? bins[t][1] : bins[t][0]
                for i in 0..<n {
                    let key = magnitudeKey(x[i] - base[i])
                    let bin = key >> 16
                    if bin == first || bin == second { keys[t].append(key) }
                }
            }
        }
        for t in 0..<tasks { selection.store(keys[t], chunk: chunk, model: t) }
    }

    /// L1 sums for the rescale (kept elements, and for DARE also all elements) or squared norms of the
    /// sparsified, rescaled deltas.
    private func sums(_ pass: Pass, chunk: Int, range: Range<Int>, io: KernelIO) throws {
        var cursors = makeCursors(chunk: chunk)
        let deltas = io.scratch.buffer("gta.deltas", count: KernelIO.blockElements, of: Float.self)
        var totals = [Double](repeating: 0, count: tasks)
        var kept = [Double](repeating: 0, count: tasks)
        try io.forEachBlock(range) { start, n, inputs in
            for t in 0..<tasks {
                let x = inputs[t + 1], base = inputs[0]
                if pass == .randomL1 {
                    var sum = 0.0
                    for i in 0..<n { sum += Double(abs(x[i] - base[i])) }
                    totals[t] += sum
                }
                for i in 0..<n { deltas[i] = x[i] - base[i] }
                mask(t, deltas, count: n, start: start, cursors: &cursors[t])
                if pass == .norms {
                    if let factor = factors[t] { for i in 0..<n { deltas[i] *= factor } }
                    var sum = 0.0
                    for i in 0..<n { sum += Double(deltas[i]) * Double(deltas[i]) }
                    kept[t] += sum
                } else {
                    var sum = 0.0
                    for i in 0..<n { sum += Double(abs(deltas[i])) }
                    kept[t] += sum
                }
            }
        }
        let before = self.before, after = self.after!
        for t in 0..<tasks {
            if pass == .randomL1 { before![chunk * tasks + t] = totals[t] }
            after[chunk * tasks + t] = kept[t]
        }
    }

    /// DELLA's masks: per row, ranks of |δ| (ascending, ties by column), keep probabilities, draws; plus L1 sums.
    private func della(chunk: Int, range: Range<Int>, io: KernelIO) throws {
        let rowLength = self.rowLength
        let rows = io.scratch.buffer("della.rows", count: (tasks + 1) * rowLength, of: Float.self)
        let order = io.scratch.buffer("della.order", count: rowLength, of: UInt64.self)
        let masks = dellaMasks!
        var totals = [Double](repeating: 0, count: tasks)
        var kept = [Double](repeating: 0, count: tasks)
        var rowStart = range.lowerBound
        while rowStart < range.upperBound {
            let length = min(rowLength, range.upperBound - rowStart)
            for input in 0...tasks {
                try io.load(input, rowStart..<(rowStart + length), into: rows + input * rowLength)
            }
            for t in 0..<tasks {
                guard case .della(let density, let epsilon) = plans[t] else { continue }
                let x = rows + (t + 1) * rowLength, base = rows
                for j in 0..<length {
                    order[j] = UInt64(magnitudeKey(x[j] - base[j])) << 32 | UInt64(j)
                }
                var sorted = UnsafeMutableBufferPointer(start: order, count: length)
                sorted.sort()
                let low = Float(density - epsilon), epsilon32 = Float(epsilon)
                var absoluteSum = 0.0, keptSum = 0.0
                for position in 0..<length {
                    let j = Int(order[position] & 0xFFFF_FFFF)
                    let rankNorm: Float = length > 1 ? min(max(Float(position) / Float(length - 1), 0), 1) : 0.5
                    let probability = low + rankNorm * 2 * epsilon32
                    let index = rowStart + j
                    let threshold = CounterRandom.threshold(probability: Double(probability))
                    let delta = x[j] - base[j]
                    absoluteSum += Double(abs(delta))
                    if randoms[t].keeps(index, threshold: threshold) {
                        let word = t * maskWords + index / 64
                        masks[word] |= 1 << UInt64(index % 64)
                        keptSum += Double(abs(delta))
                    }
                }
                totals[t] += absoluteSum
                kept[t] += keptSum
            }
            rowStart += length
        }
        let before = self.before!, after = self.after!
        for t in 0..<tasks {
            before[chunk * tasks + t] = totals[t]
            after[chunk * tasks + t] = kept[t]
        }
    }

    // MARK: Masks

    struct Cursors {
        var first: PrefixCursor?
        var second: PrefixCursor?
    }

    private func makeCursors(chunk: Int) -> [Cursors] {
        plans.map { plan in
            switch plan {
            case .magnitude(let target):
                return Cursors(first: PrefixCursor(selection!.cuts[target], descending: true, chunk: chunk))
            case .outliers(let low, let high):
                return Cursors(
                    first: PrefixCursor(selection!.cuts[low], descending: false, chunk: chunk),
                    second: PrefixCursor(selection!.cuts[high], descending: false, chunk: chunk))
            default:
                return Cursors()
            }
        }
    }

    /// Multiplies model t's deltas (elements start..<start+n of the tensor) by its mask.
    private func mask(_ t: Int, _ deltas: UnsafeMutablePointer<Float>, count n: Int, start: Int, cursors: inout Cursors) {
        switch plans[t] {
        case .keepAll:
            return
        case .dropAll:
            for i in 0..<n { deltas[i] *= 0 }
        case .magnitude:
            cursors.first!.mask(deltas, count: n)
        case .outliers:
            var low = cursors.first!, high = cursors.second!
            for i in 0..<n {
                let bits = deltas[i].bitPattern
                let key = bits & 0x7FFF_FFFF
                let dropped = low.contains(key)
                let inHead = high.contains(key)
                deltas[i] = Float(bitPattern: bits & (keepMask(!dropped && inHead) | 0x8000_0000))
            }
            cursors.first = low
            cursors.second = high
        case .random(let threshold):
            let random = randoms[t]
            for i in 0..<n {
                let bits = deltas[i].bitPattern
                deltas[i] = Float(bitPattern: bits & (keepMask(random.keeps(start + i, threshold: threshold)) | 0x8000_0000))
            }
        case .della:
            let words = dellaMasks!.storage.baseAddress! + t * maskWords
            for i in 0..<n {
                let index = start + i
                let bits = deltas[i].bitPattern
                let keep = words[index >> 6] & (1 << UInt64(index & 63)) != 0
                deltas[i] = Float(bitPattern: bits & (keepMask(keep) | 0x8000_0000))
            }
        }
    }

    // MARK: Apply

    func apply(chunk: Int, range: Range<Int>, io: KernelIO, output: UnsafeMutablePointer<Float>) throws {
        let T = tasks
        if T == 0 {
            try io.load(0, range, into: output)
            return
        }
        var cursors = makeCursors(chunk: chunk)
        let block = KernelIO.blockElements
        // T weighted rows, plus two rows of scratch for the election's sums.
        let weighted = io.scratch.buffer("gta.weighted", count: (T + 2) * block, of: Float.self)
        try io.forEachBlock(range) { start, n, inputs in
            let base = inputs[0]
            for t in 0..<T {
                let d = weighted + t * block
                let x = inputs[t + 1]
                for i in 0..<n { d[i] = x[i] - base[i] }
                mask(t, d, count: n, start: start, cursors: &cursors[t])
                if let factor = factors[t] { for i in 0..<n { d[i] *= factor } }
                let w = weights[t]
                for i in 0..<n { d[i] *= w }
            }
            let out = output + (start - range.lowerBound)
            if settings.consensus {
                combineWithConsensus(weighted, base: base, count: n, into: out)
            } else {
                combine(weighted, base: base, count: n, into: out)
            }
        }
    }

    private func combine(_ W: UnsafeMutablePointer<Float>, base: UnsafeMutablePointer<Float>, count n: Int, into out: UnsafeMutablePointer<Float>) {
        let block = KernelIO.blockElements
        for i in 0..<n { out[i] = W[i] }
        for t in 1..<max(tasks, 1) {
            let row = W + t * block
            for i in 0..<n { out[i] += row[i] }
        }
        if settings.normalize {
            let divisor = divisorWithoutConsensus
            for i in 0..<n { out[i] /= divisor }
        }
        if lambda != 1 {
            let lambda = self.lambda
            for i in 0..<n { out[i] *= lambda }
        }
        for i in 0..<n { out[i] = base[i] + out[i] }
    }

    /// TIES' election, element-wise and branch-free so it vectorises: the majority sign is that of Σₜ Wₜ
    /// (summed in model order), each Wₜ of that sign is added (in model order) with its weight to the divisor.
    private func combineWithConsensus(
        _ W: UnsafeMutablePointer<Float>, base: UnsafeMutablePointer<Float>, count n: Int, into out: UnsafeMutablePointer<Float>
    ) {
        let block = KernelIO.blockElements
        let T = tasks
        let sums = out
        for i in 0..<n { sums[i] = W[i] }
        for t in 1..<max(T, 1) {
            let row = W + t * block
            for i in 0..<n { sums[i] += row[i] }
        }
        // Reuse the first weighted row's scratch neighbour for the divisor: the block after the T rows.
        let mixed = W + T * block
        let divisor = W + (T + 1) * block
        for i in 0..<n {
            mixed[i] = 0
            divisor[i] = 0
        }
        for t in 0..<T {
            let row = W + t * block
            let weight = weights[t]
            for i in 0..<n {
                let value = row[i]
                let positive = sums[i] >= 0
                let keep = (positive && value > 0) || (!positive && value < 0)
                mixed[i] += keep ? value : 0
                divisor[i] += keep ? weight : 0
            }
        }
        if settings.normalize {
            for i in 0..<n { mixed[i] /= divisor[i] == 0 ? 1 : divisor[i] }
        }
        if lambda != 1 {
            let lambda = self.lambda
            for i in 0..<n { mixed[i] *= lambda }
        }
        for i in 0..<n { out[i] = base[i] + mixed[i] }
    }
}

func gcd(_ a: Int, _ b: Int) -> Int {
    var (a, b) = (abs(a), abs(b))
    while b != 0 { (a, b) = (b, a % b) }
    return max(a, 1)
}
