import Foundation

extension SafeTensorsFile {
    /// Converts elements `elements` (flat indices in C order; the whole tensor when nil) of the floating tensor
    /// `name` to Float32 into `buffer`, whose count must equal the range's.
    ///
    /// F32, F16 and BF16 convert exactly; F64 rounds to nearest Float (ties to even), overflowing to ±inf. NaN,
    /// ±inf, −0 and subnormals are preserved. The tensor's bytes may be at any alignment in the file. F32 is read
    /// straight into `buffer`; BF16 and F16 ranges of at least ``StorageReads/directMinimum`` bytes in one read into
    /// the upper half of `buffer`, widened in place; smaller ones and F64 through a staging buffer of at most
    /// ``stagingElements`` elements.
    ///
    /// - Throws: ``SafeTensorsError`` with kind `.tensorNotFound`, `.notFloatingPoint` (integer, BOOL, FP8, …:
    ///   copy those with ``withRawBytes(_:_:)``), `.invalidElementRange` (range outside the tensor, or
    ///   `buffer.count != range.count`), or `.dataSizeMismatch` (the file was truncated while open).
    public func readFloat32(
        _ name: String, elements: Range<Int>? = nil, into buffer: UnsafeMutableBufferPointer<Float>
    ) throws {
        let info = try requireInfo(name)
        guard info.dtype.isFloatingPoint else {
            throw SafeTensorsError(
                .notFloatingPoint, file: url, tensor: name,
                "has dtype \(info.dtype.rawValue); arithmetic needs F64/F32/F16/BF16 (other dtypes can only be copied "
                + "byte for byte)"
            )
        }
        let range = elements ?? 0..<info.elementCount
        let bytes = try byteRange(info, range)
        guard buffer.count == range.count else {
            throw SafeTensorsError(
                .invalidElementRange, file: url, tensor: name,
                "buffer holds \(buffer.count) Floats for \(range.count) elements; expected equal counts")
        }
        guard let destination = buffer.baseAddress, !range.isEmpty else { return }
        let dtype = info.dtype
        if dtype == .f32 {
            try storage.read(bytes, into: destination, tensor: name)
            return
        }
        let size = dtype.byteSize
        if size == 2, bytes.count >= StorageReads.directMinimum {
            // One request for the whole range (so uncached bytes come from storage as one large direct read), into
            // the upper half of the destination, then widened forward in place: `decode` reads each 16-bit block
            // before it writes the Floats over it, and Float i never reaches past stored element i.
            let stored = UnsafeMutableRawPointer(destination) + range.count * 2
            try storage.read(bytes, into: stored, tensor: name)
            FloatConversion.decode(dtype, from: stored, count: range.count, into: destination)
            return
        }
        let step = min(range.count, Self.stagingElements)
        try withUnsafeTemporaryAllocation(byteCount: step * size, alignment: 64) { staging in
            var done = 0
            while done < range.count {
                let count = min(step, range.count - done)
                let start = bytes.lowerBound + done * size
                try storage.read(start..<(start + count * size), into: staging.baseAddress!, tensor: name)
                FloatConversion.decode(dtype, from: staging.baseAddress!, count: count, into: destination + done)
                done += count
            }
        }
    }

    /// Elements decoded per `pread` when a tensor is not stored as F32 (256 KB of BF16, 512 KB of F64).
    static let stagingElements = 1 << 16

    /// Calls `body` with the bytes of tensor `name` exactly as stored (little-endian, C order, any alignment — read
    /// them with `loadUnaligned` or copy them, never `bindMemory`). Works for every dtype.
    ///
    /// The buffer points into the file's read-only mapping, without a copy, and is valid only during `body`. A
    /// zero-size tensor gives an empty buffer. This is the one read that goes through the mapping (the forward pass
    /// uses it to lend aligned F32 weights in place, see `CheckpointWeights`); everything else is copied with
    /// `pread`. As with any mapping, reading bytes that a truncation removed while the file was open raises SIGBUS,
    /// where ``readFloat32(_:elements:into:)`` throws `.dataSizeMismatch`.
    ///
    /// - Throws: `.tensorNotFound`, or what `body` throws.
    public func withRawBytes<R>(_ name: String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        let info = try requireInfo(name)
        let start = dataStart + info.dataOffsets.lowerBound
        let bytes = UnsafeRawBufferPointer(rebasing: storage.bytes[start..<(start + info.byteCount)])
        return try withExtendedLifetime(self) { try body(bytes) }
    }

    /// Copies the stored bytes of elements `elements` (flat indices, C order) of tensor `name` — little-endian,
    /// exactly as stored, `elements.count * dtype.byteSize` bytes — to `destination`.
    ///
    /// - Throws: `.tensorNotFound`; `.invalidElementRange` for a range outside the tensor; `.dataSizeMismatch`
    ///   when the file ends early (it was truncated while open); `.cannotOpen` when the read itself fails.
    package func read(
        _ name: String, elements: Range<Int>, into destination: UnsafeMutableRawPointer
    ) throws(SafeTensorsError) {
        let bytes = try byteRange(requireInfo(name), elements)
        try storage.read(bytes, into: destination, tensor: name)
    }

    /// Copies bytes `range` of the file (offsets from its start: the header is `0..<dataStart`) to `destination`.
    ///
    /// - Throws: `.invalidElementRange` for a range outside the file; `.dataSizeMismatch` when the file ends early
    ///   (truncated while open) or `.cannotOpen` when the read fails — naming the tensor whose bytes were read.
    package func read(fileBytes range: Range<Int>, into destination: UnsafeMutableRawPointer) throws(SafeTensorsError)
    {
        let tensor = tensorName(at: range.lowerBound)
        guard range.lowerBound >= 0, range.upperBound <= byteCount else {
            throw SafeTensorsError(
                .invalidElementRange, file: url, tensor: tensor,
                "bytes \(range.lowerBound)..<\(range.upperBound) requested; the file has \(byteCount)")
        }
        try storage.read(range, into: destination, tensor: tensor)
    }

    /// The file bytes of elements `elements` of the tensor `info`, or `.invalidElementRange` when the elements are
    /// outside it.
    func byteRange(_ info: TensorInfo, _ elements: Range<Int>) throws(SafeTensorsError) -> Range<Int> {
        guard elements.lowerBound >= 0, elements.upperBound <= info.elementCount else {
            throw SafeTensorsError(
                .invalidElementRange, file: url, tensor: info.name,
                "elements \(elements.lowerBound)..<\(elements.upperBound) requested; the tensor has "
                + "\(info.elementCount)"
            )
        }
        let start = dataStart + info.dataOffsets.lowerBound
        let size = info.dtype.byteSize
        return (start + elements.lowerBound * size)..<(start + elements.upperBound * size)
    }

    /// The tensor whose stored bytes hold file offset `offset` (nil in the header or past the data).
    func tensorName(at offset: Int) -> String? {
        let position = offset - dataStart
        var low = 0
        var high = tensors.count
        while low < high {
            let middle = (low + high) / 2
            if tensors[middle].dataOffsets.upperBound <= position { low = middle + 1 } else { high = middle }
        }
        guard low < tensors.count, tensors[low].dataOffsets.contains(position) else { return nil }
        return tensors[low].name
    }
}
