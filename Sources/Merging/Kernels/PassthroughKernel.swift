/// MergeKit's `passthrough`: the single input, times `scale` when given.
final class PassthroughKernel: TensorKernel, @unchecked Sendable {
    let scale: Float?

    init(scale: Double?) {
        self.scale = scale.map { Float($0) }
    }

    func apply(chunk: Int, range: Range<Int>, io: KernelIO, output: UnsafeMutablePointer<Float>) throws {
        try io.load(0, range, into: output)
        if let scale {
            for i in 0..<range.count { output[i] *= scale }
        }
    }
}
