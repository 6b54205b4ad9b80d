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

// One strip of a routed expert's product with its weights formed on the fly: W = the n rows of length K from element
// `offset` of the block, formed as mm_form_point forms them into `formed` (room for n·K) when tasks > 0, else θ0's rows
// (`base` + offset) themselves; then y[i·ldc + j] = Σ_k x[i·lda + k] · W[j·K + k] for i < m, j < n (a dot product per
// entry in 16 Float32 lanes, summed across the lanes, fused multiply-add where the CPU has it: within BLAS's rounding
// of the same product, not bit-identical to it). Returns 1, computing nothing, when a value of W is not finite.
int mm_form_linear(const float *base, const float *const *thetas, const float *coefficients, long tasks,
                   long offset, long n, long K, const float *x, long lda, long m, float *y, long ldc,
                   float *formed);

// MARK: Conversions (n a multiple of 16)

// BF16 bits → Float: the bits shifted into the top half.
void mm_decode_bf16(const uint16_t *source, long n, float *destination);
// Float → BF16 bits, round to nearest, ties to even; NaN → 0x7FC0.
void mm_encode_bf16(const float *source, long n, uint16_t *destination);
// Float → F16 bits as FloatConversion.f16Bits(from:), lane for lane.
void mm_encode_f16(const float *source, long n, uint16_t *destination);

// MARK: TIES, DARE, breadcrumbs, DELLA (TaskArithmeticKernel, RankSelection; any n, the remainder one by one)
//
// A magnitude key is the bit pattern of a Float without its sign (bits & 0x7FFFFFFF, monotonic in |x|); δ = x − b
// in Float32.

// Rank selection, pass 1: histogram[key(δ) >> 16] += 1 for each element.
void mm_magnitude_histogram(const float *x, const float *base, long n, uint32_t *histogram);
// The same, and returns Σ Double(|δ|) from 0 in index order.
double mm_magnitude_histogram_l1(const float *x, const float *base, long n, uint32_t *histogram);
// Rank selection, pass 2: writes to keys[0..<count] (room for n) the keys of δ whose high 16 bits are `first` or
// `second`, in index order; returns count.
long mm_collect_bin_keys(const float *x, const float *base, long n, uint32_t first, uint32_t second, uint32_t *keys);
// PrefixCursor's mask for a threshold cut: an element is kept when its key lies beyond `key` (above when
// `descending`, else below), or equals it while the running count `*ties` (incremented at each such element, in
// index order) is ≤ `quota`; the others are zeroed keeping their sign (bits & 0x80000000).
void mm_prefix_mask(float *values, long n, uint32_t key, long quota, long *ties, int descending);
// magnitude_outliers: keeps an element in the ascending prefix (highKey, highQuota, *highTies) and not in the
// ascending prefix (lowKey, lowQuota, *lowTies), each decided as mm_prefix_mask does; the others are zeroed keeping
// their sign.
void mm_outlier_mask(float *values, long n, uint32_t lowKey, long lowQuota, long *lowTies, uint32_t highKey,
                     long highQuota, long *highTies);
// DARE's mask (CounterRandom.keeps): element i is kept when the high 32 bits of SplitMix64's mix of
// key + (start + i + 1)·0x9E3779B97F4A7C15 are below `threshold`; the others zeroed keeping their sign.
void mm_random_mask(float *values, long n, uint64_t key, long start, uint64_t threshold);
// out = x − b.
void mm_subtract(const float *x, const float *base, long n, float *out);
// values = values · factor.
void mm_scale(float *values, long n, float factor);
// Without sign consensus, over `tasks` rows (row t at weighted + t·stride): sum = W0 + W1 + … (from task 0), then
// sum / divisor when `normalize`, sum · lambda when lambda ≠ 1, out = b + sum.
void mm_linear_combine(const float *weighted, long stride, long tasks, int normalize, float divisor, float lambda,
                       const float *base, long n, float *out);
// TIES' election: positive = (W0 + W1 + …) ≥ 0; for t in order, Wt is kept when it is > 0 (positive) or < 0 (not
// positive), mixed += kept ? Wt : 0 and divisor += kept ? weights[t] : 0 (both from 0); then mixed / (divisor == 0 ?
// 1 : divisor) when `normalize`, mixed · lambda when lambda ≠ 1, out = b + mixed.
void mm_consensus_combine(const float *weighted, long stride, const float *weights, long tasks, int normalize,
                          float lambda, const float *base, long n, float *out);

#ifdef __cplusplus
}
#endif

#endif
