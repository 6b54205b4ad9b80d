import Foundation

extension SafeTensorsFile {
    /// Converts elements `elements` (flat indices in C order; the whole tensor when nil) of the floating tensor
    /// `name` to Float32 into `buffer`, whose count must equal the range's.
    ///
    /// F32, F16 and BF16 convert exactly; F64 rounds to nearest Float (ties to even), overflowing to ±inf. NaN,
    /// ±inf, −0 and subnormals are preserved. The tensor's bytes may be at any alignment in the file.
    ///
    /// - Throws: ``SafeTensorsError`` with kind `.tensorNotFound`, `.notFloatingPoint` (integer, BOOL, FP8, …:
    ///   copy those with ``withRawBytes(_:_:)``), or `.invalidElementRange` (range outside the tensor, or
    ///   `buffer.count != range.count`).
    public func readFloat32(
        _ name: String, elements: Range<Int>? = nil, into buffer: UnsafeMutableBufferPointer<Float>
    ) throws {
        let info = try requireInfo(name)
        guard info.dtype.isFloatingPoint else {
            throw SafeTensorsError(
                .notFloatingPoint, file: url, tensor: name,
                "has dtype \(info.dtype.rawValue); arithmetic needs F64/F32/F16/BF16 (other dtypes can only be copied byte for byte)"
            )
        }
        let count = info.elementCount
        let range = elements ?? 0..<count
        guard range.lowerBound >= 0, range.upperBound <= count else {
            throw SafeTensorsError(
                .invalidElementRange, file: url, tensor: name,
                "elements \(range.lowerBound)..<\(range.upperBound) requested; the tensor has \(count)")
        }
        guard buffer.count == range.count else {
            throw SafeTensorsError(
                .invalidElementRange, file: url, tensor: name,
                "buffer holds \(buffer.count) Floats for \(range.count) elements; expected equal counts")
        }
        guard let destination = buffer.baseAddress, !range.isEmpty, let base = mapping.bytes.baseAddress else {
            return
        }
        let offset = dataStart + info.dataOffsets.lowerBound + range.lowerBound * info.dtype.byteSize
        withExtendedLifetime(self) {
            FloatConversion.decode(info.dtype, from: base + offset, count: range.count, into: destination)
        }
    }

    /// Calls `body` with the bytes of tensor `name` exactly as stored (little-endian, C order, any alignment — read
    /// them with `loadUnaligned` or copy them, never `bindMemory`). Works for every dtype.
    ///
    /// The buffer points into the file's mapping and is valid only during `body`. A zero-size tensor gives an
    /// empty buffer.
    ///
    /// - Throws: `.tensorNotFound`, or what `body` throws.
    public func withRawBytes<R>(_ name: String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        let info = try requireInfo(name)
        let start = dataStart + info.dataOffsets.lowerBound
        let bytes = UnsafeRawBufferPointer(rebasing: mapping.bytes[start..<(start + info.byteCount)])
        return try withExtendedLifetime(self) { try body(bytes) }
    }
}
