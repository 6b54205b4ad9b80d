extension SafeTensorsFile {
    /// Tells the kernel how elements `elements` of tensor `name` will be read (``ReadAdvice``); the whole tensor
    /// when `elements` is nil. A hint: returns at once, ignored for unknown names or ranges outside the tensor,
    /// never throws.
    package func advise(_ advice: ReadAdvice, _ name: String, elements: Range<Int>? = nil) {
        guard let info = info(name), let bytes = try? byteRange(info, elements ?? 0..<info.elementCount) else {
            return
        }
        storage.advise(advice, bytes)
    }

    /// Tells the kernel how the whole file will be read (``ReadAdvice``).
    package func advise(_ advice: ReadAdvice) {
        storage.advise(advice, 0..<byteCount)
    }
}
