import Foundation
import SafeTensors
import Testing

@testable import Merging

/// The merge refuses results that are NaN/±Inf or that become ±Inf when written in the output dtype. The bounds
/// are known by hand: BF16 rounds a Float to nearest-even on its top 16 bits, so the largest Float that stays finite
/// is 0x7F7F7FFF and 0x7F7F8000 (3.3961514e38) rounds up to 0x7F80 = ∞; F16's largest finite is 65 504, and
/// 65 520 is the midpoint to 2¹⁶ (rounds to ∞).
@Suite("Finite check of merged values")
struct FiniteCheckTests {
    /// 21 values (a 16-lane block and a tail of 5) of 1.0 with `value` at `index`.
    static func values(_ value: Float, at index: Int) -> [Float] {
        var values = [Float](repeating: 1, count: 21)
        values[index] = value
        return values
    }

    @Test(
        "values that overflow the output dtype are refused; the largest that do not are kept",
        arguments: [
            (DType.bf16, Float(bitPattern: 0x7F7F_8000), true), (.bf16, Float(bitPattern: 0x7F7F_7FFF), false),
            (.bf16, -Float(bitPattern: 0x7F7F_8000), true), (.f16, 65520, true), (.f16, 65519.996, false),
            (.f32, .greatestFiniteMagnitude, false), (.f32, .infinity, true), (.bf16, .nan, true),
        ], [3, 18])
    func bounds(_ testCase: (dtype: DType, value: Float, refused: Bool), index: Int) throws {
        let (dtype, value, refused) = testCase
        var values = Self.values(value, at: index)
        let thrown = values.withUnsafeMutableBufferPointer { buffer -> MergeError? in
            do {
                try MergeExecutor.checkFinite(
                    buffer.baseAddress!, count: buffer.count, tensor: "w", dtype: dtype, offset: 100)
                return nil
            } catch let error as MergeError {
                return error
            } catch {
                return nil
            }
        }
        if refused {
            #expect(thrown == .nonFinite(tensor: "w", count: 1, index: 100 + index, dtype: dtype.rawValue))
        } else {
            #expect(thrown == nil)
        }
        // The bound agrees with the encoder: a refused BF16 value encodes to ±∞ or NaN, a kept one to a finite value.
        if dtype == .bf16 {
            let bits = FloatConversion.bf16Bits(from: value) & 0x7FFF
            #expect((bits >= 0x7F80) == refused)
        }
    }
}
