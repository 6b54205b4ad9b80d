import Checkpoints
import Foundation
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
/// A ratio whose denominator is zero (a task vector that does not change the outputs) is NaN.
public struct LinearityProbe: Sendable {
    public var alphas: [Double]
    public var scales: [Double]
    public var taylorStep: Double
    /// How many logits per task to keep as curves (those that change most at the last position of the first prompt).
    public var curveCount: Int

    public init(
        alphas: [Double] = stride(from: 0.0, through: 1.0001, by: 0.1).map { ($0 * 10).rounded() / 10 },
        scales: [Double] = [0.5, 1, 1.5, 2, 3], taylorStep: Double = 1e-2, curveCount: Int = 8
    ) {
        self.alphas = alphas
        self.scales = scales
        self.taylorStep = taylorStep
        self.curveCount = curveCount
    }

    /// Parses an α grid `start:end:step` (e.g. `0:1:0.1`) or a comma list (`0,0.5,1`).
    public static func parseGrid(_ text: String) throws -> [Double] {
        let parts = text.split(separator: ":").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        if parts.count == 3, let start = parts[0], let end = parts[1], let step = parts[2], step > 0, end >= start {
            let count = Int(((end - start) / step).rounded(.down) + 1e-9) + 1
            var values = (0..<count).map { start + Double($0) * step }
            if let last = values.last, end - last > step * 1e-6 { values.append(end) }
            return values.map { ($0 * 1e9).rounded() / 1e9 }
        }
        let list = text.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard !list.isEmpty, list.allSatisfy({ $0 != nil && $0!.isFinite }) else {
            throw AnalysisError.badArgument("grid '\(text)' is neither start:end:step nor a comma-separated list of numbers")
        }
        return list.map { $0! }
    }

    /// Runs the probe on `family` for `prompts` (token ids), with MetaGPT's `lambdas` for the merged point.
    ///
    /// - Parameter progress: called after each forward batch with (done, total).
    public func run(
        _ family: ModelFamily, prompts: [[Int]], lambdas: [Double], progress: (@Sendable (Int, Int) -> Void)? = nil
    ) throws -> ProbeResult {
        guard !prompts.isEmpty else { throw AnalysisError.badArgument("the probe needs at least one prompt") }
        let T = family.tasks.count
        let base = family.base
        let tasks = family.tasks.map(\.checkpoint)
        let grid = Array(Set(alphas + [0, 1])).sorted()
        let pairs = (0..<T).flatMap { i in ((i + 1)..<T).map { (i, $0) } }
        let total = 1 + T * (grid.count - 1 + 2) + pairs.count + scales.count
        var done = 0

        func outputs(_ coefficients: [Double]) throws -> [[Double]] {
            let model = try CausalLanguageModel(base: base, tasks: tasks, coefficients: coefficients.map(Float.init))
            let result = try model.forward(batch: prompts, logits: .all).map { $0.logits.map(Double.init) }
            done += 1
            progress?(done, total)
            return result
        }
        func unit(_ t: Int, _ value: Double) -> [Double] {
            var c = [Double](repeating: 0, count: T)
            c[t] = value
            return c
        }

        let f0 = try outputs([Double](repeating: 0, count: T))
        var along: [[[[Double]]]] = []  // [task][alpha][prompt][coordinate]
        var chord: [[Double]] = [], taylor: [[Double]] = [], rSquared: [[Double]] = []
        var deltas: [[[Double]]] = []  // [task][prompt]
        for t in 0..<T {
            var curve: [[[Double]]] = []
            for alpha in grid { curve.append(alpha == 0 ? f0 : try outputs(unit(t, alpha))) }
            let f1 = curve[grid.firstIndex(of: 1)!]
            let plus = try outputs(unit(t, taylorStep)), minus = try outputs(unit(t, -taylorStep))
            var chordRow: [Double] = [], taylorRow: [Double] = [], r2Row: [Double] = [], deltaRow: [[Double]] = []
            for q in prompts.indices {
                let delta = Vector.difference(f1[q], f0[q])
                let scale = Vector.norm(delta)
                deltaRow.append(delta)
                var worst = 0.0
                for (k, alpha) in grid.enumerated() {
                    let chordPoint = Vector.combination(f0[q], 1 - alpha, f1[q], alpha)
                    worst = max(worst, Vector.norm(Vector.difference(curve[k][q], chordPoint)))
                }
                chordRow.append(worst / scale)
                let derivative = Vector.combination(plus[q], 1 / (2 * taylorStep), minus[q], -1 / (2 * taylorStep))
                taylorRow.append(Vector.norm(Vector.difference(delta, derivative)) / scale)
                let vocabulary = f0[q].count / prompts[q].count
                let last = (f0[q].count - vocabulary)..<f0[q].count
                r2Row.append(Self.meanRSquared(grid, curve.map { Array($0[q][last]) }))
            }
            chord.append(chordRow)
            taylor.append(taylorRow)
            rSquared.append(r2Row)
            deltas.append(deltaRow)
            along.append(curve)
        }

        var additivity: [[Double]] = []
        for (i, j) in pairs {
            var c = [Double](repeating: 0, count: T)
            c[i] = 1
            c[j] = 1
            let both = try outputs(c)
            additivity.append(prompts.indices.map { q in
                let predicted = Vector.combination(deltas[i][q], 1, deltas[j][q], 1)
                let gap = Vector.difference(Vector.difference(both[q], f0[q]), predicted)
                return Vector.norm(gap) / (Vector.norm(deltas[i][q]) + Vector.norm(deltas[j][q]))
            })
        }

        var merged: [[Double]] = []
        for s in scales {
            let point = try outputs(lambdas.map { s * $0 })
            merged.append(prompts.indices.map { q in
                var predicted = [Double](repeating: 0, count: f0[q].count)
                for t in 0..<T { predicted = Vector.combination(predicted, 1, deltas[t][q], s * lambdas[t]) }
                return Vector.norm(Vector.difference(Vector.difference(point[q], f0[q]), predicted)) / Vector.norm(predicted)
            })
        }

        // Curves: the logits of the first prompt's last position that change most along each task vector.
        let vocabulary = f0[0].count / prompts[0].count
        let last = (f0[0].count - vocabulary)..<f0[0].count
        var coordinates: [[Int]] = [], curves: [[[Double]]] = []
        for t in 0..<T {
            let change = last.map { abs(deltas[t][0][$0]) }
            let chosen = change.indices.sorted { change[$0] > change[$1] }.prefix(min(curveCount, vocabulary)).sorted()
            coordinates.append(Array(chosen))
            curves.append(grid.indices.map { k in chosen.map { along[t][k][0][last.lowerBound + $0] } })
        }

        return ProbeResult(
            taskNames: family.taskNames, pairNames: pairs.map { "\(family.taskNames[$0.0]) · \(family.taskNames[$0.1])" },
            alphas: grid, prompts: prompts, chordResidual: chord, taylorError: taylor, taylorStep: taylorStep,
            rSquared: rSquared, additivityGap: additivity, scales: scales, lambdas: lambdas, mergedGap: merged,
            curves: curves, curveCoordinates: coordinates)
    }

    /// Mean over coordinates of the R² of a least-squares line y ≈ a + bα; coordinates constant along α are left
    /// out (their R² is undefined); 1 when all are constant.
    static func meanRSquared(_ alphas: [Double], _ rows: [[Double]]) -> Double {
        let n = Double(alphas.count)
        let meanAlpha = alphas.reduce(0, +) / n
        let sxx = alphas.reduce(0) { $0 + ($1 - meanAlpha) * ($1 - meanAlpha) }
        guard sxx > 0, let width = rows.first?.count else { return .nan }
        var total = 0.0
        var counted = 0
        for j in 0..<width {
            let ys = rows.map { $0[j] }
            let meanY = ys.reduce(0, +) / n
            let ssTot = ys.reduce(0) { $0 + ($1 - meanY) * ($1 - meanY) }
            guard ssTot > 1e-30 * max(1, meanY * meanY) else { continue }
            let sxy = zip(alphas, ys).reduce(0) { $0 + ($1.0 - meanAlpha) * ($1.1 - meanY) }
            total += (sxy * sxy) / (sxx * ssTot)
            counted += 1
        }
        return counted == 0 ? 1 : total / Double(counted)
    }
}

/// Small Float64 vector helpers for the probe's metrics.
enum Vector {
    static func difference(_ a: [Double], _ b: [Double]) -> [Double] { zip(a, b).map { $0 - $1 } }
    static func combination(_ a: [Double], _ x: Double, _ b: [Double], _ y: Double) -> [Double] {
        zip(a, b).map { x * $0 + y * $1 }
    }
    static func norm(_ a: [Double]) -> Double { a.reduce(0) { $0 + $1 * $1 }.squareRoot() }
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
    /// The prompts' texts when they came from text (set by the caller that encoded them).
    public var promptTexts: [String]? = nil
    /// [task][k]: the decoded token of each curve's vocabulary index, when the base model has a tokenizer.json.
    public var curveTokens: [[String]]? = nil

    /// The maxima over prompts the gate reads (NaN, from a task vector that changes nothing, counts as 0).
    public var summary: LinearitySummary {
        func maxima(_ rows: [[Double]], _ names: [String]) -> [(String, Double)] {
            // NaN propagates: a prompt whose metric is undefined makes the maximum undefined, and the gate fails on it.
            zip(names, rows).map { name, row in (name, row.contains { $0.isNaN } ? .nan : row.max() ?? .nan) }
        }
        return LinearitySummary(
            chordResidual: maxima(chordResidual, taskNames), taylorError: maxima(taylorError, taskNames),
            additivityGap: maxima(additivityGap, pairNames))
    }
}
