/// The element type of a tensor, spelled as in the safetensors header's `dtype` field.
///
/// Every dtype the `safetensors` 0.8 package knows is recognised. Only ``f64``, ``f32``, ``f16`` and ``bf16``
/// convert to and from `Float` (``isFloatingPoint``); the others (integers, `BOOL`, the FP8/FP6/FP4 formats and
/// `C64`) can only be copied byte for byte, with ``SafeTensorsFile/withRawBytes(_:_:)`` and
/// ``SafeTensorsWriter/append(_:raw:)``.
///
/// All multi-byte dtypes are stored little-endian, tensors in C (row-major) order.
public enum DType: String, Sendable, CaseIterable, Codable {
    /// IEEE 754 binary64.
    case f64 = "F64"
    /// IEEE 754 binary32.
    case f32 = "F32"
    /// IEEE 754 binary16 (1 sign, 5 exponent, 10 mantissa bits).
    case f16 = "F16"
    /// bfloat16: the top 16 bits of a binary32 (1 sign, 8 exponent, 7 mantissa bits).
    case bf16 = "BF16"
    /// Signed two's-complement integers of 64, 32, 16 and 8 bits; copy-only.
    case i64 = "I64", i32 = "I32", i16 = "I16", i8 = "I8"
    /// Unsigned integers of 64, 32, 16 and 8 bits; copy-only.
    case u64 = "U64", u32 = "U32", u16 = "U16", u8 = "U8"
    /// One byte per element, 0 or 1; copy-only.
    case bool = "BOOL"
    /// FP8 E4M3 (OCP "FN" variant: no infinities), one byte per element; copy-only.
    case f8e4m3 = "F8_E4M3"
    /// FP8 E5M2, one byte per element; copy-only.
    case f8e5m2 = "F8_E5M2"
    /// FP8 E8M0 (OCP microscaling scale), one byte per element; copy-only.
    case f8e8m0 = "F8_E8M0"
    /// FP8 E4M3 FNUZ, one byte per element; copy-only.
    case f8e4m3fnuz = "F8_E4M3FNUZ"
    /// FP8 E5M2 FNUZ, one byte per element; copy-only.
    case f8e5m2fnuz = "F8_E5M2FNUZ"
    /// Complex number of two binary32 parts, 8 bytes per element; copy-only.
    case c64 = "C64"
    /// OCP MXFP4, 4 bits per element (packed, two per byte); copy-only.
    case f4 = "F4"
    /// OCP MXFP6 E2M3, 6 bits per element (packed); copy-only.
    case f6e2m3 = "F6_E2M3"
    /// OCP MXFP6 E3M2, 6 bits per element (packed); copy-only.
    case f6e3m2 = "F6_E3M2"

    /// Bits per element: 64, 32, 16 or 8 — and 4 or 6 for the packed sub-byte formats ``f4``, ``f6e2m3``, ``f6e3m2``.
    public var bitSize: Int {
        switch self {
        case .f64, .i64, .u64, .c64: 64
        case .f32, .i32, .u32: 32
        case .f16, .bf16, .i16, .u16: 16
        case .i8, .u8, .bool, .f8e4m3, .f8e5m2, .f8e8m0, .f8e4m3fnuz, .f8e5m2fnuz: 8
        case .f6e2m3, .f6e3m2: 6
        case .f4: 4
        }
    }

    /// Bytes per element (1, 2, 4 or 8).
    ///
    /// For the packed sub-byte formats (``f4``, ``f6e2m3``, ``f6e3m2``) an element is smaller than a byte; this
    /// returns 1 for them, so sizes must come from ``bitSize`` or ``TensorInfo/byteCount``, never from
    /// `elementCount * byteSize`.
    public var byteSize: Int { max(1, bitSize / 8) }

    /// True for F64, F32, F16 and BF16: the dtypes that convert to and from `Float`.
    public var isFloatingPoint: Bool {
        switch self {
        case .f64, .f32, .f16, .bf16: true
        default: false
        }
    }
}

extension DType {
    /// The rank of this dtype in the Rust `safetensors` crate's `Dtype` enum declaration (which derives `Ord`).
    ///
    /// The reference writer orders the data section by this rank, descending, then by name; reproducing it
    /// makes files byte-identical to `safetensors.torch.save_file`.
    var referenceOrderRank: Int {
        switch self {
        case .bool: 0
        case .f4: 1
        case .f6e2m3: 2
        case .f6e3m2: 3
        case .u8: 4
        case .i8: 5
        case .f8e5m2: 6
        case .f8e4m3: 7
        case .f8e8m0: 8
        case .f8e4m3fnuz: 9
        case .f8e5m2fnuz: 10
        case .i16: 11
        case .u16: 12
        case .f16: 13
        case .bf16: 14
        case .i32: 15
        case .u32: 16
        case .f32: 17
        case .c64: 18
        case .f64: 19
        case .i64: 20
        case .u64: 21
        }
    }
}
