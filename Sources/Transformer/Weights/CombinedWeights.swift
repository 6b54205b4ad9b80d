import Checkpoints

/// The model θ(c) = θ0 + Σ_t c_t (θ_t − θ0) over a base model θ0 and task models θ_t, formed tensor by tensor.
///
/// With c = α·e_t this is the point θ0 + α τ_t on task t's line; with all c_t = 0 it is the base. A requested
/// range is formed in chunks of ``chunkSize`` elements, in Float32 and task order: out = θ0 + c_t (θ_t − θ0) for
/// the first task with c_t ≠ 0, then out += c_t (θ_t − θ0) for each further one — the operations of a float32
/// PyTorch `acc = θ0.clone(); acc += c * (θt − θ0)` (the same Float32 operations). Tasks with c_t = 0 are not
/// read. Every formed value is checked: a NaN or ±Inf throws naming the tensor (``TransformerError/Kind/nonFinite``).
/// Memory is two chunk buffers (unused when the providers lend mapped Float32); no second copy of the model
/// ever exists.
public struct CombinedWeights: WeightProvider {
    public let base: any WeightProvider
    public let tasks: [any WeightProvider]
    public let coefficients: [Float]

    /// Elements combined per step (two scratch buffers of this many floats).
    public static let chunkSize = 16_384

    /// - Throws: ``TransformerError/Kind/badCoefficients`` when `coefficients.count != tasks.count` or a
    ///   coefficient is not finite.
    public init(base: any WeightProvider, tasks: [any WeightProvider], coefficients: [Float]) throws {
        try Self.check(coefficients, taskCount: tasks.count)
        self.base = base
        self.tasks = tasks
        self.coefficients = coefficients
    }

    /// Throws ``TransformerError/Kind/badCoefficients`` unless `coefficients` holds one finite number per task;
    /// `point` (an index into a list of points) is named in the message when given.
    static func check(_ coefficients: [Float], taskCount: Int, point: Int? = nil) throws {
        let subject = point.map { "point \($0) has " } ?? ""
        guard coefficients.count == taskCount else {
            throw TransformerError(
                .badCoefficients,
                "\(subject)\(coefficients.count) coefficients for \(taskCount) task models; expected one per task")
        }
        if let bad = coefficients.firstIndex(where: { !$0.isFinite }) {
            let owner = point.map { " of point \($0)" } ?? ""
            throw TransformerError(
                .badCoefficients, "coefficient \(bad)\(owner) is \(coefficients[bad]); expected a finite number")
        }
    }

    /// Throws ``TransformerError/Kind/nonFinite`` naming tensor `name`, the element and the coefficients when one of
    /// the `count` formed values (elements `offset ..< offset + count`) is NaN or ±Inf.
    func checkFinite(_ name: String, _ values: UnsafePointer<Float>, count: Int, at offset: Int) throws {
        guard let bad = Kernels.firstNonFinite(values, count: count) else { return }
        throw TransformerError.nonFiniteWeight(
            name, element: offset + bad, value: values[bad], coefficients: coefficients)
    }

    /// θ0 + Σ c_t (θ_t − θ0) over checkpoints.
    public init(base: Checkpoint, tasks: [Checkpoint], coefficients: [Float]) throws {
        try self.init(
            base: CheckpointWeights(base), tasks: tasks.map { CheckpointWeights($0) }, coefficients: coefficients)
    }

    /// The point θ0 + α τ_t on the line of task `task`.
    public init(base: any WeightProvider, tasks: [any WeightProvider], task: Int, alpha: Float) throws {
        guard tasks.indices.contains(task) else {
            throw TransformerError(.badCoefficients, "task index \(task) out of range 0..<\(tasks.count)")
        }
        var coefficients = [Float](repeating: 0, count: tasks.count)
        coefficients[task] = alpha
        try self.init(base: base, tasks: tasks, coefficients: coefficients)
    }

    /// The base model's shape; every task model must store the same (checked when the tensor is loaded).
    public func shape(of name: String) -> [Int]? {
        base.shape(of: name)
    }

    public func prefetch(_ name: String) {
        base.prefetch(name)
        for t in tasks.indices where coefficients[t] != 0 { tasks[t].prefetch(name) }
    }

    public func evict(_ name: String) {
        base.evict(name)
        for t in tasks.indices where coefficients[t] != 0 { tasks[t].evict(name) }
    }

    public func load(_ name: String, elements: Range<Int>, into buffer: UnsafeMutableBufferPointer<Float>) throws {
        precondition(buffer.count == elements.count, "buffer count \(buffer.count) ≠ \(elements.count) elements")
        let active = tasks.indices.filter { coefficients[$0] != 0 }
        guard !active.isEmpty else {
            try base.load(name, elements: elements, into: buffer)
            try checkFinite(name, UnsafePointer(buffer.baseAddress!), count: buffer.count, at: elements.lowerBound)
            return
        }
        let baseShape = base.shape(of: name)
        for t in active where tasks[t].shape(of: name) != baseShape {
            let stored = tasks[t].shape(of: name).map { "\($0)" } ?? "absent"
            throw TransformerError(
                .shapeMismatch,
                "\(tasks[t].location ?? "task model \(t)"): tensor \(name) is \(stored) here but "
                    + "\(baseShape.map { "\($0)" } ?? "absent") in the base"
            )
        }
        let chunk = Self.chunkSize
        let first = active[0]
        let rest = active.dropFirst()
        try withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * chunk) { scratch in
            let baseScratch = UnsafeMutableBufferPointer(rebasing: scratch[0..<chunk])
            let taskScratch = UnsafeMutableBufferPointer(rebasing: scratch[chunk..<(2 * chunk)])
            var start = elements.lowerBound
            while start < elements.upperBound {
                let end = min(start + chunk, elements.upperBound)
                let n = end - start
                let out = buffer.baseAddress! + (start - elements.lowerBound)
                // Providers may lend their memory (mapped Float32), so nothing is copied twice.
                try base.withFloat32(name, elements: start..<end, scratch: baseScratch) { theta0Buffer in
                    let theta0 = theta0Buffer.baseAddress!
                    try tasks[first].withFloat32(name, elements: start..<end, scratch: taskScratch) { thetaTBuffer in
                        let thetaT = thetaTBuffer.baseAddress!
                        let c = coefficients[first]
                        for i in 0..<n {
                            out[i] = theta0[i] + c * (thetaT[i] - theta0[i])
                        }
                    }
                    for t in rest {
                        try tasks[t].withFloat32(name, elements: start..<end, scratch: taskScratch) { thetaTBuffer in
                            let thetaT = thetaTBuffer.baseAddress!
                            let c = coefficients[t]
                            for i in 0..<n {
                                out[i] += c * (thetaT[i] - theta0[i])
                            }
                        }
                    }
                }
                try checkFinite(name, UnsafePointer(out), count: n, at: start)
                start = end
            }
        }
    }
}
