import Checkpoints
import Foundation
import SafeTensors
import Statistics
import Tokenizers
import Transformer

/// The NTK-linearity probe: runs the model itself along θ0 + α·τt and at combined points, and measures how far
/// its outputs are from linear in the weights.
///
/// The output vector f(θ) of a prompt is its logits at every position (flattened, Float64 for the metrics).
/// With Δt = f(θ0 + τt) − f(θ0):
/// - **chord residual** of task t: max over the α grid of ‖f(α) − [(1−α) f(0) + α f(1)]‖ / ‖f(1) − f(0)‖;
///   0 when f is linear along τt;
/// - **Taylor (first-order) error**: ‖f(1) − f(0) − J·τt‖ / ‖f(1) − f(0)‖ with the directional derivative J·τt
///   from a central difference (f(h) − f(−h)) / 2h at step ``taylorStep`` (1e-2 by default: with Float32
///   outputs the rounding error of the difference is ~1e-7·‖f‖/h and its truncation error ~h²·‖f‴‖, so h near
///   the cube root of Float32's epsilon balances them);
/// - **R²**: for each logit of the last position, the R² of a least-squares line over the α grid; the mean over
///   logits that vary (a logit constant along α is left out);
/// - **additivity gap** of tasks i < j: ‖f(θ0 + τi + τj) − f(θ0) − (Δi + Δj)‖ / (‖Δi‖ + ‖Δj‖);
/// - **merged-point gap** at total scale s: ‖f(θ0 + s Σ λt τt) − f(θ0) − s Σ λt Δt‖ / ‖s Σ λt Δt‖, with MetaGPT's λ.
///
/// A ratio whose denominator is zero (a task vector that does not change the outputs) is NaN, and stays NaN in
/// ``ProbeResult/summary``.
///
/// **Cost.** All P points (``ProbePoints``: 31 for the default probe on two tasks — the base, 10 α + ±h per task,
/// one pair, 5 scales) go through the model together, layer by layer (``LockstepEngine``), with all prompts in one
/// batch. Each block of each weight matrix is read from θ0 and from each θt once per lockstep group and formed
/// for every point from that one read; the default probe on TinyLlama- or Llama-2-7B-shaped families with 8 × 16
/// tokens fits ``memoryLimit`` in one group (≈ 0.38 GB and ≈ 0.83 GB estimated), so **every input byte of the layers
/// and of the output projection is read once** (plus, for the embedding, only the rows of the prompts' tokens, once
/// per point). A probe that needs G groups reads the layers G times.
///
/// **Memory.** ``estimatedPeakBytes(family:prompts:lambdas:)``: one block of weight rows per input, the activations
/// of one lockstep group, the final hidden states of every point, one vocabulary block of logits for every point and
/// the curve candidates — independent of the model's depth, never a model's worth of weights or logits.
public struct LinearityProbe: Sendable {
    public var alphas: [Double]
    public var scales: [Double]
    public var taylorStep: Double
    /// How many logits per task to keep as curves (those that change most at the last position of the first prompt).
    public var curveCount: Int
    /// The most memory a run may need by ``estimatedPeakBytes(family:prompts:lambdas:)`` (1.5 GB by default);
    /// points run in smaller lockstep groups (more reads of the inputs) to stay under it, and a run that cannot is
    /// refused before it allocates.
    public var memoryLimit: Int = 1_500_000_000

    public init(
        alphas: [Double] = stride(from: 0.0, through: 1.0001, by: 0.1).map { ($0 * 10).rounded() / 10 },
        scales: [Double] = [0.5, 1, 1.5, 2, 3], taylorStep: Double = 1e-2, curveCount: Int = 8
    ) {
        self.alphas = alphas
        self.scales = scales
        self.taylorStep = taylorStep
        self.curveCount = curveCount
    }

    /// The most points a grid (`--alphas`, `--scales`) may have: 1001, i.e. a step of 0.001 over [0, 1].
    public static let maximumGridPoints = 1001

    /// Parses a grid `start:end:step` (e.g. `0:1:0.1`, end included) or a comma list (`0,0.5,1`).
    ///
    /// - Throws: ``AnalysisError/badArgument(_:cause:)`` for text that is neither, a value that is not finite (NaN,
    ///   inf), a step that is not positive, an end before the start, or more than ``maximumGridPoints`` points —
    ///   refused before anything is allocated.
    public static func parseGrid(_ text: String) throws -> [Double] {
        let fields = text.split(separator: ":", omittingEmptySubsequences: false)
        if fields.count == 3 {
            let parts = fields.map { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard let start = parts[0], let end = parts[1], let step = parts[2] else {
                throw AnalysisError.badArgument("grid '\(text)': start, end and step must be numbers (e.g. 0:1:0.1)")
            }
            guard start.isFinite, end.isFinite, step.isFinite else {
                throw AnalysisError.badArgument("grid '\(text)': start, end and step must be finite numbers")
            }
            guard step > 0 else {
                throw AnalysisError.badArgument("grid '\(text)': the step is \(step); expected a positive step")
            }
            guard end >= start else {
                throw AnalysisError.badArgument("grid '\(text)': the end \(end) is before the start \(start)")
            }
            let intervals = ((end - start) / step).rounded(.down) + 1e-9
            guard intervals < Double(maximumGridPoints) else {
                throw AnalysisError.badArgument(
                    "grid '\(text)' has \(Int(min(intervals, 1e15)) + 1) points; at most \(maximumGridPoints) are "
                        + "allowed (use a larger step)"
                )
            }
            let count = Int(intervals) + 1
            var values = (0..<count).map { start + Double($0) * step }
            if let last = values.last, end - last > step * 1e-6 { values.append(end) }
            guard values.count <= maximumGridPoints else {
                throw AnalysisError.badArgument(
                    "grid '\(text)' has \(values.count) points; at most \(maximumGridPoints) are allowed (use a larger "
                        + "step)"
                )
            }
            return values.map { ($0 * 1e9).rounded() / 1e9 }
        }
        let list = text.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard !list.isEmpty, fields.count == 1, list.allSatisfy({ $0 != nil }) else {
            throw AnalysisError.badArgument(
                "grid '\(text)' is neither start:end:step nor a comma-separated list of numbers")
        }
        let values = list.map { $0! }
        if let bad = values.first(where: { !$0.isFinite }) {
            throw AnalysisError.badArgument("grid '\(text)' contains \(bad); expected finite numbers")
        }
        guard values.count <= maximumGridPoints else {
            throw AnalysisError.badArgument(
                "grid '\(text)' has \(values.count) points; at most \(maximumGridPoints) are allowed")
        }
        return values
    }

    /// Checks that an α grid measures something: it must hold at least two distinct α (each task is run at every α of
    /// the grid, with 0 and 1 added; with one α the chord residual, R² and curves have nothing to compare).
    ///
    /// - Throws: ``AnalysisError/badArgument(_:cause:)`` naming the grid and the count of distinct values.
    public static func checkAlphas(_ alphas: [Double], text: String? = nil) throws {
        let distinct = Set(alphas.filter { !$0.isNaN }).count
        guard distinct >= 2 else {
            let shown = text ?? alphas.map { "\($0)" }.joined(separator: ",")
            throw AnalysisError.badArgument(
                "--alphas '\(shown)' has \(distinct) distinct α; the probe needs at least two distinct α per task "
                    + "(e.g. 0,0.5,1), or its chord residual measures nothing")
        }
    }

    /// Runs the probe on `family` for `prompts` (``PromptSource/load(for:vocabularySize:maxLength:)``), with
    /// MetaGPT's `lambdas` for the merged point, as ``run(_:prompts:lambdas:progress:)-(_,[[Int]],_,_)`` does; the
    /// result also keeps the prompts' texts and, with the prompts' tokenizer, each curve's token decoded to text
    /// (labels only: a decoder that exceeds a work limit leaves the curves unlabelled).
    public func run(
        _ family: ModelFamily, prompts: Prompts, lambdas: [Double], progress: (@Sendable (Int, Int) -> Void)? = nil
    ) throws -> ProbeResult {
        var result = try run(family, prompts: prompts.ids, lambdas: lambdas, progress: progress)
        result.promptTexts = prompts.texts
        if let tokenizer = prompts.tokenizer {
            result.curveTokens = try? result.curveCoordinates.map { row in
                try row.map { try tokenizer.decode([$0]) }
            }
        }
        return result
    }

    /// Runs the probe on `family` for `prompts` (token ids, checked by the caller as
    /// ``PromptSource/load(for:vocabularySize:maxLength:)`` checks them), with MetaGPT's `lambdas` for the merged
    /// point.
    ///
    /// Every point (``ProbePoints``: the base, each task's grid and ±h, the pairs, the merged points) goes through
    /// the model in lockstep with one batch of all prompts (``LockstepEngine``): each layer's inputs are read once
    /// per lockstep group — once in all when the whole probe fits ``memoryLimit``, which it does for the default
    /// probe — and the output projection once. The metrics are accumulated block of vocabulary by block
    /// (``ProbeAccumulator``); no point's logits are kept.
    ///
    /// - Parameter progress: called with (done, total) steps: a layer of a lockstep group, or a vocabulary block.
    /// - Throws: ``AnalysisError/badArgument(_:cause:)`` for a non-finite α, scale or step, a grid over
    /// ``maximumGridPoints``, or an estimated peak (``estimatedPeakBytes(family:prompts:lambdas:)``) over
    /// ``memoryLimit``
    ///   — before anything large is allocated; the model's errors (``TransformerError``) for bad weights.
    package func run(
        _ family: ModelFamily, prompts: [[Int]], lambdas: [Double], progress: (@Sendable (Int, Int) -> Void)? = nil
    ) throws -> ProbeResult {
        let plan = try Plan(self, family, prompts: prompts, lambdas: lambdas)
        let engine = plan.engine
        let layerSteps = plan.groups * engine.config.layerCount
        let vocabularyBlocks = plan.vocabularyBlocks
        let total = layerSteps + vocabularyBlocks
        let hidden = try engine.finalHiddenStates(
            points: plan.points.coefficients, batch: plan.batch, groupSize: plan.groupSize,
            progress: { done, _ in progress?(done, total) })
        var accumulator = ProbeAccumulator(
            points: plan.points, alphas: plan.grid, taylorStep: taylorStep, pairs: plan.pairs, scales: scales,
            lambdas: lambdas, rows: prompts.indices.map { plan.batch.rows(of: $0) },
            vocabularySize: engine.config.vocabularySize)
        try engine.projectLogits(
            points: plan.points.coefficients, hiddenStates: hidden, batch: plan.batch,
            rows: Array(0..<plan.batch.tokenCount), progress: { done, _ in progress?(layerSteps + done, total) }
        ) { vocabulary, logits in
            accumulator.add(vocabulary, logits)
        }

        // Curves: the logits of the first prompt's last position that change most along each task vector.
        let T = family.tasks.count
        let grid = plan.grid
        let vocabulary = engine.config.vocabularySize
        let one = grid.firstIndex(of: 1)!, zero = grid.firstIndex(of: 0)!
        var coordinates: [[Int]] = [], curves: [[[Double]]] = []
        for t in 0..<T {
            let along = accumulator.firstPromptLast[t]
            let change = (0..<vocabulary).map { abs(Double(along[one][$0]) - Double(along[zero][$0])) }
            let chosen = change.indices.sorted { change[$0] > change[$1] }.prefix(min(curveCount, vocabulary)).sorted()
            coordinates.append(Array(chosen))
            curves.append(grid.indices.map { k in chosen.map { Double(along[k][$0]) } })
        }

        return ProbeResult(
            taskNames: family.taskNames,
            pairNames: plan.pairs.map { "\(family.taskNames[$0.0]) · \(family.taskNames[$0.1])" },
            alphas: grid, prompts: prompts, chordResidual: accumulator.chordResidual,
            taylorError: accumulator.taylorError, taylorStep: taylorStep, rSquared: accumulator.rSquared,
            additivityGap: accumulator.additivityGap, scales: scales, lambdas: lambdas,
            mergedGap: accumulator.mergedGap, curves: curves, curveCoordinates: coordinates)
    }

    /// The probe's estimated peak anonymous memory in bytes for `prompts` on `family`, with the points run in as
    /// few lockstep groups as ``memoryLimit`` allows (one group when it fits):
    ///
    /// peak ≈ 4 · [ (T + 2) · B  +  G · N · (2H + 2qW + 2kvW + 2I)  +  L²  +  P · N · (H + V_B)  +  T · |grid| · V ]
    ///
    /// B = one block of weight rows (max(2²⁰, I) elements), G points per lockstep group, N = Σ prompt lengths,
    /// L = the longest prompt, P points (1 + T(|grid| + 1) + T(T−1)/2 + |scales|), V_B = ⌊B / H⌋ vocabulary rows
    /// per block, V the vocabulary (the last term: the first prompt's last-position logits kept for the curves).
    /// Independent of the model's depth; weights are read from the files as needed, not held.
    package func estimatedPeakBytes(family: ModelFamily, prompts: [[Int]], lambdas: [Double]) throws -> Int {
        try Plan(self, family, prompts: prompts, lambdas: lambdas, enforceLimit: false).peakBytes
    }

    /// How a run is laid out: the grid, the points, the lockstep groups and the memory they need.
    struct Plan {
        let grid: [Double]
        let pairs: [(Int, Int)]
        let points: ProbePoints
        let batch: PromptBatch
        let engine: LockstepEngine
        let groupSize: Int
        let groups: Int
        let peakBytes: Int
        var vocabularyBlocks: Int {
            (engine.config.vocabularySize + engine.vocabularyBlockRows - 1) / engine.vocabularyBlockRows
        }

        init(
            _ probe: LinearityProbe, _ family: ModelFamily, prompts: [[Int]], lambdas: [Double],
            enforceLimit: Bool = true
        )
            throws
        {
            let T = family.tasks.count
            for (label, values) in [
                ("α", probe.alphas), ("scale", probe.scales), ("λ", lambdas), ("Taylor step", [probe.taylorStep]),
            ] {
                if let bad = values.first(where: { !$0.isFinite }) {
                    throw AnalysisError.badArgument(
                        "the probe's \(label) values contain \(bad); expected finite numbers")
                }
            }
            try LinearityProbe.checkAlphas(probe.alphas)
            guard probe.taylorStep != 0 else {
                throw AnalysisError.badArgument("the Taylor step is 0; expected a small non-zero step")
            }
            guard lambdas.count == T else {
                throw AnalysisError.badArgument("\(lambdas.count) λ for \(T) task models; expected one per task")
            }
            grid = Array(Set(probe.alphas + [0, 1])).sorted()
            guard grid.count <= LinearityProbe.maximumGridPoints + 2,
                probe.scales.count <= LinearityProbe.maximumGridPoints
            else {
                throw AnalysisError.badArgument(
                    "the grid has \(grid.count) α and \(probe.scales.count) scales; at most "
                        + "\(LinearityProbe.maximumGridPoints) each"
                )
            }
            pairs = (0..<T).flatMap { i in ((i + 1)..<T).map { (i, $0) } }
            points = ProbePoints(
                tasks: T, grid: grid, taylorStep: probe.taylorStep, pairs: pairs, scales: probe.scales, lambdas: lambdas
            )
            batch = PromptBatch(prompts)
            let config = try TransformerConfig(checkpoint: family.base)
            var engine = try LockstepEngine(
                config: config, base: CheckpointWeights(family.base),
                tasks: family.tasks.map(\.weights))
            // Inputs larger than half the RAM: drop each tensor from the page cache once read, so what is about to
            // be read is not what gets evicted.
            let inputBytes = ([family.base] + family.tasks.map(\.checkpoint)).reduce(0) { sum, checkpoint in
                sum + checkpoint.tensorNames.reduce(0) { $0 + (checkpoint.info($1)?.byteCount ?? 0) }
            }
            engine.evictsInputs = UInt64(inputBytes) > ProcessInfo.processInfo.physicalMemory / 2
            let batch = batch
            self.engine = engine
            let P = points.coefficients.count
            let curvesBytes = 4 * T * grid.count * config.vocabularySize
            let estimator = engine
            let peak = { (g: Int) -> Int in
                estimator.estimatedPeakBytes(points: P, groupSize: g, batch: batch, logitRows: batch.tokenCount)
                    + curvesBytes
            }
            // The largest group that fits the limit: fewer groups, fewer reads of the inputs.
            var g = P
            while g > 1 && peak(g) > probe.memoryLimit { g = (g + 1) / 2 }
            groupSize = g
            groups = (P + g - 1) / g
            let peakBytes = peak(g)
            self.peakBytes = peakBytes
            if enforceLimit && peakBytes > probe.memoryLimit {
                throw AnalysisError.badArgument(
                    "the probe would need about \(Self.gigabytes(peakBytes)) of memory (\(P) points × "
                        + "\(batch.tokenCount) tokens of "
                        + "\(prompts.count) prompts, vocabulary \(config.vocabularySize)); the limit is "
                        + "\(Self.gigabytes(probe.memoryLimit)). Use fewer or shorter prompts, or fewer α / scales")
            }
        }

        static func gigabytes(_ bytes: Int) -> String {
            String(format: "%.2f GB", Double(bytes) / 1e9)
        }
    }
}

/// What the probe measured (see ``LinearityProbe`` for the definitions). Rows are tasks, pairs or scales;
/// columns are prompts.
public struct ProbeResult: Sendable {
    public let taskNames: [String]
    public let pairNames: [String]
    public let alphas: [Double]
    public let prompts: [[Int]]
    public let chordResidual: [[Double]]
    public let taylorError: [[Double]]
    public let taylorStep: Double
    public let rSquared: [[Double]]
    public let additivityGap: [[Double]]
    public let scales: [Double]
    public let lambdas: [Double]
    public let mergedGap: [[Double]]
    /// [task][alpha][k]: the sampled logits along α.
    public let curves: [[[Double]]]
    /// [task][k]: which vocabulary index each curve follows.
    public let curveCoordinates: [[Int]]
    /// The prompts' texts when they came from text (``Prompts/texts``; the probe keeps them).
    public var promptTexts: [String]? = nil
    /// [task][k]: the decoded token of each curve's vocabulary index, when the base model has a tokenizer.json.
    public var curveTokens: [[String]]? = nil

    /// The maxima over prompts the gate reads. NaN (a ratio whose denominator is zero: a task vector that does
    /// not change the outputs) propagates: a row holding a NaN has maximum NaN, so a gate cannot read it as a pass.
    public var summary: LinearitySummary {
        func maxima(_ rows: [[Double]], _ names: [String]) -> [(String, Double)] {
            zip(names, rows).map { name, row in
                (name, row.contains { $0.isNaN } ? .nan : row.max() ?? .nan)
            }
        }
        return LinearitySummary(
            chordResidual: maxima(chordResidual, taskNames), taylorError: maxima(taylorError, taskNames),
            additivityGap: maxima(additivityGap, pairNames), alphas: alphas)
    }
}
