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
final class TaskArithmeticKernel: SquaredNormsMeasuring, @unchecked Sendable {
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

        /// The settings of a family row (its sparsification and sign consensus) for `request`'s tensor, with
        /// `weights` per task (the `weight` parameters, or MetaGPT's λ).
        init(
            _ request: KernelRequest, sparsification: Sparsification?, consensus: Bool, weights: [Double]
        ) {
            let parameters = request.parameters
            self.sparsification = sparsification
            self.consensus = consensus
            normalize = parameters.flag("normalize")
            rescale = parameters.flag("rescale")
            lambda = parameters.number("lambda")
            self.weights = weights
            densities = request.perTask("density")
            gammas = request.perTask("gamma")
            epsilons = request.perTask("epsilon")
            seed = request.plan.seed
        }
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
    let selection: RankSelection?
    var factors: [Float?]
    var before: SlotTable<Double>?
    var after: SlotTable<Double>?
    var dellaMasks: SlotTable<UInt64>?
    var maskWords = 0
    var chunkCount = 0
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
                plans.append(
                    density >= 1 ? .keepAll : .random(threshold: CounterRandom.threshold(probability: density)))
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
                            "tensor '\(name)': epsilon \(formatNumber(epsilon)) with density \(formatNumber(density)) "
                            + "puts density ± epsilon outside (0, 1), as DELLA requires"
                        )
                    }
                    guard shape.count <= 2 else {
                        throw MergeConfigError(
                            .badValue,
                            "tensor '\(name)': DELLA ranks within rows; tensors of rank \(shape.count) > 2 are not "
                            + "supported"
                        )
                    }
                    plans.append(.della(density: density, epsilon: epsilon))
                }
            }
        }
        self.plans = plans
        self.selection =
            targets.isEmpty ? nil : RankSelection(models: settings.weights.count, elementCount: n, targets: targets)
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

    var rowLength: Int { shape.count < 2 ? max(count, 1) : shape[1] }

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
}

func gcd(_ a: Int, _ b: Int) -> Int {
    var (a, b) = (abs(a), abs(b))
    while b != 0 { (a, b) = (b, a % b) }
    return max(a, 1)
}
