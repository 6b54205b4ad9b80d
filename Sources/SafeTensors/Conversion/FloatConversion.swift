import CKernels

/// Conversions between the floating storage dtypes (F64, F32, F16, BF16) and `Float`.
///
/// Decoding is exact for F32, F16 and BF16 (every F16/BF16 value is a Float); F64 rounds to nearest, ties to even,
/// overflowing to ±inf. Encoding rounds to nearest, ties to even; values too large overflow to ±inf; F16 keeps
/// subnormals; NaN stays NaN (BF16: `0x7FC0`, as PyTorch; F16: sign kept with `0x7E00`, as PyTorch's
/// `fp16_ieee_from_fp32_value`).
///
/// The element loops are plain, branch-free loops over contiguous memory so the compiler can vectorise them;
/// sources and destinations may be at any byte alignment. BF16 decoding and BF16/F16 encoding run sixteen at a time
/// in C (`CKernels`: one clone per x86-64 level, picked at load time), the lanes of the scalar formulas below.
package enum FloatConversion {
    // MARK: Scalars

    /// BF16 bits → Float: the BF16 bits are the top half of the Float's.
    @inline(__always)
    package static func float(fromBF16 bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }

    /// Float → BF16 bits, round to nearest, ties to even; NaN → `0x7FC0`.
    @inline(__always)
    package static func bf16Bits(from value: Float) -> UInt16 {
        let u = value.bitPattern
        let rounded = UInt16(truncatingIfNeeded: (u &+ 0x7FFF &+ ((u >> 16) & 1)) >> 16)
        return value.isNaN ? 0x7FC0 : rounded
    }

    /// F16 bits → Float (exact, including subnormals, ±inf and NaN payloads).
    @inline(__always)
    package static func float(fromF16 bits: UInt16) -> Float {
        let h = UInt32(bits)
        let sign = (h & 0x8000) << 16
        let shifted = (h & 0x7FFF) << 13  // exponent and mantissa in place for a Float
        let exponent = shifted & 0x0F80_0000
        // Normal: rebias the exponent by 127 − 15. Inf/NaN: all exponent bits set.
        let normal = shifted &+ (exponent == 0x0F80_0000 ? 0x7000_0000 : 0x3800_0000)
        // Zero/subnormal: let the FPU normalise — m · 2^-24 is (2^-14 + m · 2^-24) − 2^-14.
        let subnormal = (Float(bitPattern: shifted &+ 0x3880_0000) - Float(bitPattern: 0x3880_0000)).bitPattern
        return Float(bitPattern: (exponent == 0 ? subnormal : normal) | sign)
    }

    /// Float → F16 bits, round to nearest, ties to even; |x| ≥ 65520 → ±inf; NaN → `0x7E00` with the sign kept.
    @inline(__always)
    package static func f16Bits(from value: Float) -> UInt16 {
        let bits = value.bitPattern
        let sign = bits & 0x8000_0000
        let magnitude = bits ^ sign
        // |x| ≥ 2^16: infinity, or NaN.
        let special: UInt32 = magnitude > 0x7F80_0000 ? 0x7E00 : 0x7C00
        // |x| < 2^-14: subnormal or zero; adding 0.5 makes the FPU round the mantissa at the right place.
        let subnormal = (Float(bitPattern: magnitude) + Float(bitPattern: 0x3F00_0000)).bitPattern &- 0x3F00_0000
        // Normal: rebias, add the rounding bias (0xFFF plus the lowest kept bit, for ties to even), shift.
        let normal = (magnitude &+ 0xC800_0FFF &+ ((magnitude >> 13) & 1)) >> 13
        let result =
            magnitude >= 0x4780_0000
            ? special
            : magnitude < 0x3880_0000 ? subnormal : normal
        return UInt16(truncatingIfNeeded: result | (sign >> 16))
    }

    // MARK: Loops

    /// Converts `count` elements of `dtype` (F64, F32, F16 or BF16) at `source` to Float at `destination`.
    package static func decode(
        _ dtype: DType, from source: UnsafeRawPointer, count: Int, into destination: UnsafeMutablePointer<Float>
    ) {
        switch dtype {
        case .f32:
            UnsafeMutableRawPointer(destination).copyMemory(from: source, byteCount: count * 4)
        case .bf16:
            // Sixteen at a time (`mm_decode_bf16`): widen the 16-bit patterns and shift them into the top half of a
            // Float's bits.
            var i = count / 16 * 16
            mm_decode_bf16(source.assumingMemoryBound(to: UInt16.self), i, destination)
            while i < count {
                destination[i] = float(fromBF16: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                i += 1
            }
        case .f16:
            for i in 0..<count {
                destination[i] = float(fromF16: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
            }
        case .f64:
            for i in 0..<count {
                destination[i] = Float(source.loadUnaligned(fromByteOffset: 8 * i, as: Double.self))
            }
        default:
            preconditionFailure("\(dtype.rawValue) does not convert to Float")
        }
    }

    /// Converts `count` Floats at `source` to `dtype` (F64, F32, F16 or BF16), little-endian, at `destination`.
    package static func encode(
        _ dtype: DType, from source: UnsafePointer<Float>, count: Int, into destination: UnsafeMutableRawPointer
    ) {
        switch dtype {
        case .f32:
            destination.copyMemory(from: source, byteCount: count * 4)
        case .bf16:
            // Sixteen at a time (`mm_encode_bf16`), the same integer rounding as `bf16Bits(from:)`: NaN (a magnitude
            // above the infinity's bits) becomes 0x7FC0.
            var i = count / 16 * 16
            mm_encode_bf16(source, i, destination.assumingMemoryBound(to: UInt16.self))
            while i < count {
                destination.storeBytes(of: bf16Bits(from: source[i]), toByteOffset: 2 * i, as: UInt16.self)
                i += 1
            }
        case .f16:
            // Sixteen at a time (`mm_encode_f16`), lane for lane the branch-free arithmetic of `f16Bits(from:)`.
            var i = count / 16 * 16
            mm_encode_f16(source, i, destination.assumingMemoryBound(to: UInt16.self))
            while i < count {
                destination.storeBytes(of: f16Bits(from: source[i]), toByteOffset: 2 * i, as: UInt16.self)
                i += 1
            }
        case .f64:
            for i in 0..<count {
                destination.storeBytes(of: Double(source[i]), toByteOffset: 8 * i, as: Double.self)
            }
        default:
            preconditionFailure("\(dtype.rawValue) does not convert from Float")
        }
    }
}

#if _endian(big)
#error("SafeTensors assumes a little-endian host: safetensors data is little-endian")
#endif
