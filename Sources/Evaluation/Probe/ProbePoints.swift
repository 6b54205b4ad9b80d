/// The weight points one probe evaluates, in lockstep order, and where each metric finds its points.
///
/// Point 0 is the base θ0. Then, per task t: θ0 + α τt for every α of the grid except 0 (the base), then
/// θ0 ± h τt; then θ0 + τi + τj for each pair i < j; then θ0 + s Σ λt τt for each scale s. That is
/// P = 1 + T (|grid| − 1 + 2) + T(T−1)/2 + |scales| points — 31 for the default probe on two tasks.
struct ProbePoints {
    /// Coefficient rows, one per point.
    var coefficients: [[Float]] = []
    /// [task][k]: the point of grid[k] on task t's line (0 for α = 0).
    var grid: [[Int]] = []
    /// [task]: the points θ0 + h τt and θ0 − h τt.
    var plus: [Int] = [], minus: [Int] = []
    /// The point θ0 + τi + τj of each pair.
    var pairs: [Int] = []
    /// The merged point of each scale.
    var merged: [Int] = []

    init(
        tasks T: Int, grid alphas: [Double], taylorStep h: Double, pairs pairList: [(Int, Int)], scales: [Double],
        lambdas: [Double]
    ) {
        func add(_ c: [Double]) -> Int {
            coefficients.append(c.map(Float.init))
            return coefficients.count - 1
        }
        func unit(_ t: Int, _ value: Double) -> [Double] {
            var c = [Double](repeating: 0, count: T)
            c[t] = value
            return c
        }
        _ = add([Double](repeating: 0, count: T))
        for t in 0..<T {
            grid.append(alphas.map { $0 == 0 ? 0 : add(unit(t, $0)) })
            plus.append(add(unit(t, h)))
            minus.append(add(unit(t, -h)))
        }
        for (i, j) in pairList {
            var c = [Double](repeating: 0, count: T)
            c[i] = 1
            c[j] = 1
            pairs.append(add(c))
        }
        for s in scales { merged.append(add(lambdas.map { s * $0 })) }
    }
}
