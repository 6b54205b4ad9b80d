// The vector inner loops of the statistics pass, the merge kernels and the dtype conversions, compiled once per
// x86-64 level (x86-64-v4: AVX-512; x86-64-v3: AVX2; baseline SSE2) and chosen when the program loads (an ifunc
// per function, from the CPU's feature bits), so every build of MetaMerge runs at the width of the machine it runs
// on without CPU flags at build time. Other architectures get the portable build of the same C.
//
// Each loop performs the operations of the Swift code it replaced, lane for lane and in its order (the file is
// compiled with -ffp-contract=off: no fused multiply-add), so every result is bit-identical on every level.
// Pointers may be at any alignment; counts are in elements.
#ifndef METAMERGE_CKERNELS_H
#define METAMERGE_CKERNELS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// MARK: Statistics pass (MomentsKernel's finite blocks; n a multiple of 4)
//
// `models[0]` is the base θ0, `models[1 + t]` task t, all Float32. Four Float64 lanes per accumulator, lane j
// holding the coordinates i ≡ j (mod 4) in order; τ = Double(x) − Double(b). Accumulators are written, not added,
// as consecutive groups of four lanes:
//   `lanes`:  Σ θ0², then per task Σ τ, then per task Σ |τ|, then per task max |τ| (from 0), then the Gram entries
//             Σ τa τc for a ≤ c in row order (T = 1: 5 groups; 2: 10; 3: 16);
//   `counts`: per task the number of τ == 0, then (T ≥ 2) the coordinates with some τa τc < 0.
void mm_moments_finite1(const float *const *models, long n, double *lanes, int64_t *counts);
void mm_moments_finite2(const float *const *models, long n, double *lanes, int64_t *counts);
void mm_moments_finite3(const float *const *models, long n, double *lanes, int64_t *counts);

// Σ τ² of one task over n (a multiple of 4) coordinates in four Float64 lanes (written to lanes[0..<4]).
void mm_squared_norm_lanes(const float *base, const float *task, long n, double *lanes);

// MARK: Merge kernels

// MetaGPT, n a multiple of 4: out = Float(b + scale · Σt (λt · (Double(xt) − b))) in Float64 lanes, the sum from 0
// over tasks in order. `models[0]` the base, `models[1 + t]` task t.
void mm_metagpt(const float *const *models, const double *lambdas, long tasks, double scale, long n, float *out);

// task_arithmetic's fused sum, n a multiple of 16 (Float32): out = (x0 − b)·w0, then out += (xt − b)·wt for
// t = 1..<tasks, then out /= divisor when `normalize`, out *= lambda when lambda ≠ 1, out = b + out.
void mm_plain_sum(const float *const *models, const float *weights, long tasks, int normalize, float divisor,
                  float lambda, long n, float *out);

// How many of the n values (a multiple of 16) have magnitude bits (bits & 0x7FFFFFFF) below `limit` (< 2³¹).
long mm_count_magnitudes_below(const float *values, long n, uint32_t limit);

// MARK: Lockstep engine

// One point's weights: out = b + (x0 − b)·c0, then out += (xt − b)·ct for t = 1..<tasks (`thetas[t]`, `coefficients[t]`),
// in tiles of 1 024 elements so `out` stays in L1 while every term is added; any n. Returns 0 when every out value is
// finite, 1 otherwise (a running Σ (v − v), NaN as soon as one v is not finite).
int mm_form_point(const float *base, const float *const *thetas, const float *coefficients, long tasks, long n,
                  float *out);

// MARK: Conversions (n a multiple of 16)

// BF16 bits → Float: the bits shifted into the top half.
void mm_decode_bf16(const uint16_t *source, long n, float *destination);
// Float → BF16 bits, round to nearest, ties to even; NaN → 0x7FC0.
void mm_encode_bf16(const float *source, long n, uint16_t *destination);
// Float → F16 bits as FloatConversion.f16Bits(from:), lane for lane.
void mm_encode_f16(const float *source, long n, uint16_t *destination);

#ifdef __cplusplus
}
#endif

#endif
