import Foundation

/// MergeKit's `ram` and `ramplus_tl` (Reinforced Agent Merging): base b and T task models θₜ.
///
/// As `mergekit/merge_methods/ram.py` (0.1.5), in Float32, per element with δₜ = θₜ − b: a model is *active* where
/// |δₜ| > ε (`epsilon`, 1e-5); c = the number of active models. Where c = 1 the active delta is taken whole; where
/// c > 1 each active delta is divided by c (the shared positions are averaged); inactive deltas count 0:
///
///     out = b + Σₜ ( [c = 1]·λₜ·δₜ·aₜ + [c > 1]·δₜ·aₜ / c )
///
/// with λₜ = 1 for `ram`. For `ramplus_tl`, per tensor and model: ρₜ = sharedₜ / max(uniqueₜ, ε), where sharedₜ and
/// uniqueₜ count the positions where model t is active and c > 1, respectively c = 1; λₜ = 1 + r·clamp(ρₜ, 0, α)
/// (`r` 0.1, `alpha` 0.2) — so a model that shares much of its support has its unique contributions rescaled up.
/// Those counts are one reduction pass; everything else is element-wise. The sum over models runs in model order.
final class RAMKernel: TensorKernel, @unchecked Sendable {
    let tasks: Int
    let epsilon: Float
    /// `(r, alpha)` for `ramplus_tl`; nil for `ram`.
    let plus: (r: Float, alpha: Float)?
    private var counts: SlotTable<Int>?
    private var chunkCount = 0
    private(set) var lambdas: [Float]

    init(tasks: Int, epsilon: Double, plus: (r: Double, alpha: Double)?) {
        self.tasks = tasks
        self.epsilon = Float(epsilon)
        self.plus = plus.map { (Float($0.r), Float($0.alpha)) }
        lambdas = [Float](repeating: 1, count: tasks)
    }

    var passCount: Int { plus == nil ? 0 : 1 }

    func beginPass(_ pass: Int, chunkCount: Int, workers: Int) {
        self.chunkCount = chunkCount
        counts = SlotTable(count: chunkCount * tasks * 2, initial: 0)
    }

    func reduce(_ pass: Int, chunk: Int, range: Range<Int>, io: KernelIO) throws {
        var shared = [Int](repeating: 0, count: tasks)
        var unique = [Int](repeating: 0, count: tasks)
        let epsilon = self.epsilon
        try io.forEachBlock(range) { _, n, inputs in
            let base = inputs[0]
            for i in 0..<n {
                var active = 0
                for t in 0..<tasks where abs(inputs[t + 1][i] - base[i]) > epsilon { active += 1 }
                if active == 0 { continue }
                for t in 0..<tasks where abs(inputs[t + 1][i] - base[i]) > epsilon {
                    if active == 1 { unique[t] += 1 } else { shared[t] += 1 }
                }
            }
        }
        let counts = self.counts!
        for t in 0..<tasks {
            counts[(chunk * tasks + t) * 2] = shared[t]
            counts[(chunk * tasks + t) * 2 + 1] = unique[t]
        }
    }

    func endPass(_ pass: Int) throws {
        guard let plus else { return }
        for t in 0..<tasks {
            var shared = 0, unique = 0
            for chunk in 0..<chunkCount {
                shared += counts![(chunk * tasks + t) * 2]
                unique += counts![(chunk * tasks + t) * 2 + 1]
            }
            // shared_counts / unique_counts.clamp(min=epsilon): Float32, as PyTorch promotes the counts.
            let rho = Float(shared) / max(Float(unique), epsilon)
            lambdas[t] = 1 + plus.r * min(max(rho, 0), plus.alpha)
        }
        counts = nil
    }

    func apply(chunk: Int, range: Range<Int>, io: KernelIO, output: UnsafeMutablePointer<Float>) throws {
        let epsilon = self.epsilon, lambdas = self.lambdas, tasks = self.tasks
        let scaled = plus != nil
        try io.forEachBlock(range) { start, n, inputs in
            let base = inputs[0]
            let out = output + (start - range.lowerBound)
            for i in 0..<n {
                var active = 0
                for t in 0..<tasks where abs(inputs[t + 1][i] - base[i]) > epsilon { active += 1 }
                let divisor = Float(max(active, 1))
                var sum: Float = 0
                for t in 0..<tasks {
                    let delta = inputs[t + 1][i] - base[i]
                    let masked: Float = abs(delta) > epsilon ? delta : delta * 0
                    let term: Float
                    if active == 1 {
                        let unique = masked * 1
                        term = (scaled ? unique * lambdas[t] : unique) + (masked * 0) / divisor
                    } else if active > 1 {
                        term = masked * 0 + masked / divisor
                    } else {
                        term = masked * 0 + (masked * 0) / divisor
                    }
                    sum = t == 0 ? term : sum + term
                }
                out[i] = base[i] + sum
            }
        }
    }
}
