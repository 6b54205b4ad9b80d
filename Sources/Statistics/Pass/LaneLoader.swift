/// How the moments kernel reads one storage format: four elements at a time widened to Float64, or one as Float.
///
/// The kernel is generic over this protocol, so each format gets its own compiled loop with the load inlined
/// (no per-load switch over formats). One format is in use: Float32. A BF16 loader (widen 16-bit patterns in the
/// loop) was measured and dropped: LLVM's SLP vectoriser turned its loop into scalar loads and lane shuffles
/// (about 95 instructions per four coordinates against 37 for Float32), so BF16 is decoded into a Float buffer
/// that stays in cache (`FloatConversion.decode`, about 10 instructions per 16 values) and read as Float32.
protocol LaneLoader {
    /// Bytes per stored element.
    static var byteWidth: Int { get }
    /// Elements i..<i+4 of `pointer` as Float64.
    static func lanes(_ pointer: UnsafeRawPointer, at i: Int) -> SIMD4<Double>
    /// Element i of `pointer` as Float.
    static func value(_ pointer: UnsafeRawPointer, at i: Int) -> Float
}

/// Little-endian IEEE binary32 (stored F32, or any floating dtype decoded into a Float buffer).
enum Float32Lanes: LaneLoader {
    static var byteWidth: Int { 4 }

    @inline(__always)
    static func lanes(_ pointer: UnsafeRawPointer, at i: Int) -> SIMD4<Double> {
        SIMD4<Double>(pointer.loadUnaligned(fromByteOffset: 4 &* i, as: SIMD4<Float>.self))
    }

    @inline(__always)
    static func value(_ pointer: UnsafeRawPointer, at i: Int) -> Float {
        pointer.loadUnaligned(fromByteOffset: 4 &* i, as: Float.self)
    }
}
