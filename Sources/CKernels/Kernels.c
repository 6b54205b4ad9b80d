// The loops declared in include/CKernels.h; see there for what each computes. Written with Clang/GCC vector
// extensions: every operation is lane-wise IEEE arithmetic, as Swift's SIMD types are, so the result does not
// depend on the vector width the compiler picks for each clone.
#include "CKernels.h"

// No fused multiply-add: a · b + c is rounded twice, as in the Swift it replaced (Clang contracts within a statement
// by default, and a package cannot pass -ffp-contract=off to a dependency's C code).
#pragma STDC FP_CONTRACT OFF


#if defined(__x86_64__) && defined(__clang__) && defined(__ELF__)
// One clone per level, resolved at load time by an ifunc.
#define MM_DISPATCH __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define MM_DISPATCH
#endif

typedef double d4 __attribute__((vector_size(32)));
typedef float f4 __attribute__((vector_size(16)));
typedef int64_t i4 __attribute__((vector_size(32)));
typedef uint64_t u4 __attribute__((vector_size(32)));
typedef float f16v __attribute__((vector_size(64)));
typedef float f8v __attribute__((vector_size(32)));
typedef uint32_t u16v __attribute__((vector_size(64)));
typedef uint16_t h16v __attribute__((vector_size(32)));

// Helpers are macros, not inline functions: a function taking or returning a 32- or 64-byte vector has a different
// ABI in each clone, which the compiler refuses for the baseline one.
#define LOAD4(p) ({ f4 v_; __builtin_memcpy(&v_, (p), sizeof v_); __builtin_convertvector(v_, d4); })
#define LOAD16(p) ({ f16v v_; __builtin_memcpy(&v_, (p), sizeof v_); v_; })
#define LOAD_BITS16(p) ({ u16v v_; __builtin_memcpy(&v_, (p), sizeof v_); v_; })
#define STORE(p, v) ({ __typeof__(v) s_ = (v); __builtin_memcpy((p), &s_, sizeof s_); })
// |d|: the sign bit cleared.
#define MAGNITUDE(d) ((d4)((u4)(d) & 0x7FFFFFFFFFFFFFFFull))
// b where b > a, else a.
#define MAXIMUM(a, b) ({ i4 t_ = (i4)((b) > (a)); (d4)(((i4)(b) & t_) | ((i4)(a) & ~t_)); })
// All ones in the lanes where a < b (both below 2^31), zero elsewhere; and a lane-wise select by such a mask.
#define BELOW(a, b) (0u - (((a) - (b)) >> 31))
#define SELECT(mask, yes, no) ((no) ^ (((yes) ^ (no)) & (mask)))

// Comparisons give −1 in true lanes: subtracting the mask adds 1 there.
#define COUNT(acc, mask) ((acc) -= (i4)(mask))

MM_DISPATCH
void mm_moments_finite1(const float *const *models, long n, double *lanes, int64_t *counts) {
    const float *p0 = models[0], *p1 = models[1];
    d4 bb = {0}, s1 = {0}, a1 = {0}, x1 = {0}, g11 = {0};
    i4 z1 = {0};
    for (long i = 0; i < n; i += 4) {
        d4 b = LOAD4(p0 + i);
        d4 d1 = LOAD4(p1 + i) - b;
        bb += b * b;
        s1 += d1;
        d4 m1 = MAGNITUDE(d1);
        a1 += m1;
        x1 = MAXIMUM(x1, m1);
        COUNT(z1, d1 == 0);
        g11 += d1 * d1;
    }
    d4 groups[5] = {bb, s1, a1, x1, g11};
    for (int k = 0; k < 5; k++) STORE(lanes + 4 * k, groups[k]);
    STORE(counts, z1);
}

// Two passes over the block (as the Swift loops did): first-order sums, then products and counts, so that each
// loop's accumulators fit the registers of AVX2.
MM_DISPATCH
void mm_moments_finite2(const float *const *models, long n, double *lanes, int64_t *counts) {
    const float *p0 = models[0], *p1 = models[1], *p2 = models[2];
    d4 bb = {0}, s1 = {0}, s2 = {0}, a1 = {0}, a2 = {0}, x1 = {0}, x2 = {0};
    for (long i = 0; i < n; i += 4) {
        d4 b = LOAD4(p0 + i);
        d4 d1 = LOAD4(p1 + i) - b;
        d4 d2 = LOAD4(p2 + i) - b;
        bb += b * b;
        s1 += d1;
        s2 += d2;
        d4 m1 = MAGNITUDE(d1), m2 = MAGNITUDE(d2);
        a1 += m1;
        a2 += m2;
        x1 = MAXIMUM(x1, m1);
        x2 = MAXIMUM(x2, m2);
    }
    d4 g11 = {0}, g12 = {0}, g22 = {0};
    i4 z1 = {0}, z2 = {0}, conflicts = {0};
    for (long i = 0; i < n; i += 4) {
        d4 b = LOAD4(p0 + i);
        d4 d1 = LOAD4(p1 + i) - b;
        d4 d2 = LOAD4(p2 + i) - b;
        COUNT(z1, d1 == 0);
        COUNT(z2, d2 == 0);
        d4 p12 = d1 * d2;
        g11 += d1 * d1;
        g12 += p12;
        g22 += d2 * d2;
        COUNT(conflicts, p12 < 0);
    }
    d4 groups[10] = {bb, s1, s2, a1, a2, x1, x2, g11, g12, g22};
    for (int k = 0; k < 10; k++) STORE(lanes + 4 * k, groups[k]);
    STORE(counts, z1);
    STORE(counts + 4, z2);
    STORE(counts + 8, conflicts);
}

MM_DISPATCH
void mm_moments_finite3(const float *const *models, long n, double *lanes, int64_t *counts) {
    const float *p0 = models[0], *p1 = models[1], *p2 = models[2], *p3 = models[3];
    d4 bb = {0}, s1 = {0}, s2 = {0}, s3 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
    d4 x1 = {0}, x2 = {0}, x3 = {0};
    for (long i = 0; i < n; i += 4) {
        d4 b = LOAD4(p0 + i);
        d4 d1 = LOAD4(p1 + i) - b;
        d4 d2 = LOAD4(p2 + i) - b;
        d4 d3 = LOAD4(p3 + i) - b;
        bb += b * b;
        s1 += d1;
        s2 += d2;
        s3 += d3;
        d4 m1 = MAGNITUDE(d1), m2 = MAGNITUDE(d2), m3 = MAGNITUDE(d3);
        a1 += m1;
        a2 += m2;
        a3 += m3;
        x1 = MAXIMUM(x1, m1);
        x2 = MAXIMUM(x2, m2);
        x3 = MAXIMUM(x3, m3);
    }
    d4 g11 = {0}, g12 = {0}, g13 = {0}, g22 = {0}, g23 = {0}, g33 = {0};
    i4 z1 = {0}, z2 = {0}, z3 = {0}, conflicts = {0};
    for (long i = 0; i < n; i += 4) {
        d4 b = LOAD4(p0 + i);
        d4 d1 = LOAD4(p1 + i) - b;
        d4 d2 = LOAD4(p2 + i) - b;
        d4 d3 = LOAD4(p3 + i) - b;
        COUNT(z1, d1 == 0);
        COUNT(z2, d2 == 0);
        COUNT(z3, d3 == 0);
        d4 p12 = d1 * d2, p13 = d1 * d3, p23 = d2 * d3;
        g11 += d1 * d1;
        g12 += p12;
        g13 += p13;
        g22 += d2 * d2;
        g23 += p23;
        g33 += d3 * d3;
        COUNT(conflicts, (p12 < 0) | (p13 < 0) | (p23 < 0));
    }
    d4 groups[16] = {bb, s1, s2, s3, a1, a2, a3, x1, x2, x3, g11, g12, g13, g22, g23, g33};
    for (int k = 0; k < 16; k++) STORE(lanes + 4 * k, groups[k]);
    STORE(counts, z1);
    STORE(counts + 4, z2);
    STORE(counts + 8, z3);
    STORE(counts + 12, conflicts);
}

MM_DISPATCH
void mm_squared_norm_lanes(const float *base, const float *task, long n, double *lanes) {
    d4 acc = {0};
    for (long i = 0; i < n; i += 4) {
        d4 d = LOAD4(task + i) - LOAD4(base + i);
        acc += d * d;
    }
    STORE(lanes, acc);
}

MM_DISPATCH
void mm_metagpt(const float *const *models, const double *lambdas, long tasks, double scale, long n, float *out) {
    const float *base = models[0];
    if (tasks == 2) {
        const float *x0 = models[1], *x1 = models[2];
        double l0 = lambdas[0], l1 = lambdas[1];
        for (long i = 0; i < n; i += 4) {
            d4 b = LOAD4(base + i);
            d4 d0 = LOAD4(x0 + i) - b;
            d4 d1 = LOAD4(x1 + i) - b;
            d4 sum = {0};
            sum += l0 * d0;
            sum += l1 * d1;
            f4 r = __builtin_convertvector(b + scale * sum, f4);
            STORE(out + i, r);
        }
        return;
    }
    for (long i = 0; i < n; i += 4) {
        d4 b = LOAD4(base + i);
        d4 sum = {0};
        for (long t = 0; t < tasks; t++) sum += lambdas[t] * (LOAD4(models[t + 1] + i) - b);
        f4 r = __builtin_convertvector(b + scale * sum, f4);
        STORE(out + i, r);
    }
}

MM_DISPATCH
void mm_plain_sum(const float *const *models, const float *weights, long tasks, int normalize, float divisor,
                  float lambda, long n, float *out) {
    const float *base = models[0];
    for (long i = 0; i < n; i += 16) {
        f16v b = LOAD16(base + i);
        f16v sum = (LOAD16(models[1] + i) - b) * weights[0];
        for (long t = 1; t < tasks; t++) sum = sum + (LOAD16(models[t + 1] + i) - b) * weights[t];
        if (normalize) sum /= divisor;
        if (lambda != 1) sum *= lambda;
        f16v r = b + sum;
        STORE(out + i, r);
    }
}

MM_DISPATCH
int mm_form_point(const float *base, const float *const *thetas, const float *coefficients, long tasks, long n,
                  float *out) {
    f16v check = {0};
    float tail = 0;
    for (long start = 0; start < n; start += 1024) {
        long end = start + 1024 < n ? start + 1024 : n;
        long whole = start + (end - start) / 16 * 16;
        const float *x = thetas[0];
        float c = coefficients[0];
        for (long i = start; i < whole; i += 16) {
            f16v b = LOAD16(base + i);
            f16v r = b + (LOAD16(x + i) - b) * c;
            STORE(out + i, r);
        }
        for (long i = whole; i < end; i++) out[i] = base[i] + (x[i] - base[i]) * c;
        for (long t = 1; t < tasks; t++) {
            x = thetas[t];
            c = coefficients[t];
            for (long i = start; i < whole; i += 16) {
                f16v b = LOAD16(base + i);
                f16v r = LOAD16(out + i) + (LOAD16(x + i) - b) * c;
                STORE(out + i, r);
            }
            for (long i = whole; i < end; i++) out[i] = out[i] + (x[i] - base[i]) * c;
        }
        for (long i = start; i < whole; i += 16) {
            f16v v = LOAD16(out + i);
            check += v - v;
        }
        for (long i = whole; i < end; i++) tail += out[i] - out[i];
    }
    for (int k = 0; k < 16; k++) tail += check[k];
    return tail == 0 ? 0 : 1;
}

// The products of mm_form_linear: y[i·ldc + j] = Σ_k x[i·lda + k] · w[j·ldw + k] for i < MR, j < NR (constants
// after inlining), 16 k at a time into MR × NR vector accumulators, each summed across its lanes at the end and the
// k beyond the last whole 16 added one by one. Fused multiply-add where the clone has it (the products' rounding is
// a BLAS's, not the forming's: `fp contract(fast)` holds for this function only). With AVX-512, in 512-bit registers
// (`min_vector_width`: Clang otherwise splits them in two, and 32 accumulators spill): 16 accumulators and 8 loads
// fit the 32 registers.
static inline __attribute__((always_inline, min_vector_width(512))) void mm_dot_tile(
    const int MR, const int NR, const float *x, long lda, const float *w, long ldw, long K, float *y, long ldc) {
#pragma clang fp contract(fast)
    f16v acc[4][4];
    for (int i = 0; i < MR; i++)
        for (int j = 0; j < NR; j++) acc[i][j] = (f16v){0};
    long whole = K / 16 * 16;
    for (long k = 0; k < whole; k += 16) {
        f16v xv[4], wv[4];
        for (int i = 0; i < MR; i++) xv[i] = LOAD16(x + i * lda + k);
        for (int j = 0; j < NR; j++) wv[j] = LOAD16(w + j * ldw + k);
        for (int i = 0; i < MR; i++)
            for (int j = 0; j < NR; j++) acc[i][j] += xv[i] * wv[j];
    }
    for (int i = 0; i < MR; i++)
        for (int j = 0; j < NR; j++) {
            f16v v = acc[i][j];
            f8v h = __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7)
                    + __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
            f4 q = __builtin_shufflevector(h, h, 0, 1, 2, 3) + __builtin_shufflevector(h, h, 4, 5, 6, 7);
            float s = (q[0] + q[2]) + (q[1] + q[3]);
            for (long k = whole; k < K; k++) s += x[i * lda + k] * w[j * ldw + k];
            y[i * ldc + j] = s;
        }
}

MM_DISPATCH __attribute__((min_vector_width(512)))
int mm_form_linear(const float *base, const float *const *thetas, const float *coefficients, long tasks,
                   long offset, long n, long K, const float *x, long lda, long m, float *y, long ldc,
                   float *formed) {
    const float *w = base + offset;
    int bad = 0;
    if (tasks > 0) {
        const float *shifted[tasks];
        for (long t = 0; t < tasks; t++) shifted[t] = thetas[t] + offset;
        bad = mm_form_point(w, shifted, coefficients, tasks, n * K, formed);
        w = formed;
    } else {
        f16v check = {0};
        float tail = 0;
        long whole = n * K / 16 * 16;
        for (long i = 0; i < whole; i += 16) {
            f16v v = LOAD16(w + i);
            check += v - v;
        }
        for (long i = whole; i < n * K; i++) tail += w[i] - w[i];
        for (int k = 0; k < 16; k++) tail += check[k];
        bad = tail == 0 ? 0 : 1;
    }
    if (bad) return 1;
    long j = 0;
    for (; j + 4 <= n; j += 4) {
        long i = 0;
        for (; i + 4 <= m; i += 4) mm_dot_tile(4, 4, x + i * lda, lda, w + j * K, K, K, y + i * ldc + j, ldc);
        for (; i < m; i++) mm_dot_tile(1, 4, x + i * lda, lda, w + j * K, K, K, y + i * ldc + j, ldc);
    }
    for (; j < n; j++) {
        long i = 0;
        for (; i + 4 <= m; i += 4) mm_dot_tile(4, 1, x + i * lda, lda, w + j * K, K, K, y + i * ldc + j, ldc);
        for (; i < m; i++) mm_dot_tile(1, 1, x + i * lda, lda, w + j * K, K, K, y + i * ldc + j, ldc);
    }
    return 0;
}

MM_DISPATCH
long mm_count_magnitudes_below(const float *values, long n, uint32_t limit) {
    u16v lanes = {0};
    for (long i = 0; i < n; i += 16) {
        lanes += ((LOAD_BITS16(values + i) & 0x7FFFFFFFu) - limit) >> 31;
    }
    long total = 0;
    for (int k = 0; k < 16; k++) total += lanes[k];
    return total;
}

MM_DISPATCH
void mm_decode_bf16(const uint16_t *source, long n, float *destination) {
    for (long i = 0; i < n; i += 16) {
        h16v bits;
        __builtin_memcpy(&bits, source + i, sizeof bits);
        STORE(destination + i, __builtin_convertvector(bits, u16v) << 16);
    }
}

MM_DISPATCH
void mm_encode_bf16(const float *source, long n, uint16_t *destination) {
    const u16v all = {0};
    for (long i = 0; i < n; i += 16) {
        u16v u = LOAD_BITS16(source + i);
        u16v rounded = (u + 0x7FFFu + ((u >> 16) & 1u)) >> 16;
        u16v nan = BELOW(all + 0x7F800000u, u & 0x7FFFFFFFu);
        STORE(destination + i, __builtin_convertvector(SELECT(nan, all + 0x7FC0u, rounded), h16v));
    }
}

MM_DISPATCH
void mm_encode_f16(const float *source, long n, uint16_t *destination) {
    const u16v all = {0};
    for (long i = 0; i < n; i += 16) {
        u16v bits = LOAD_BITS16(source + i);
        u16v sign = bits & 0x80000000u;
        u16v magnitude = bits ^ sign;
        u16v special = SELECT(BELOW(all + 0x7F800000u, magnitude), all + 0x7E00u, all + 0x7C00u);
        u16v subnormal = (u16v)((f16v)magnitude + 0.5f) - 0x3F000000u;
        u16v normal = (magnitude + 0xC8000FFFu + ((magnitude >> 13) & 1u)) >> 13;
        u16v finite = SELECT(BELOW(magnitude, all + 0x38800000u), subnormal, normal);
        u16v result = SELECT(BELOW(magnitude, all + 0x47800000u), finite, special) | (sign >> 16);
        STORE(destination + i, __builtin_convertvector(result, h16v));
    }
}

// MARK: TIES / DARE / DELLA / breadcrumbs (TaskArithmeticKernel, RankSelection)

// Scalar helpers shared by the vector loops' remainders.
#define MAG_BITS(f) ({ uint32_t b_; float f_ = (f); __builtin_memcpy(&b_, &f_, 4); b_ & 0x7FFFFFFFu; })

MM_DISPATCH
void mm_magnitude_histogram(const float *x, const float *base, long n, uint32_t *histogram) {
    long i = 0;
    for (; i + 16 <= n; i += 16) {
        u16v bins = ((u16v)(LOAD16(x + i) - LOAD16(base + i)) & 0x7FFFFFFFu) >> 16;
        for (int k = 0; k < 16; k++) histogram[bins[k]] += 1;
    }
    for (; i < n; i++) histogram[MAG_BITS(x[i] - base[i]) >> 16] += 1;
}

MM_DISPATCH
double mm_magnitude_histogram_l1(const float *x, const float *base, long n, uint32_t *histogram) {
    double sum = 0;
    long i = 0;
    for (; i + 16 <= n; i += 16) {
        f16v delta = LOAD16(x + i) - LOAD16(base + i);
        u16v keys = (u16v)delta & 0x7FFFFFFFu;
        u16v bins = keys >> 16;
        for (int k = 0; k < 16; k++) histogram[bins[k]] += 1;
        f16v magnitude = (f16v)keys;
        for (int k = 0; k < 16; k++) sum += (double)magnitude[k];
    }
    for (; i < n; i++) {
        float delta = x[i] - base[i];
        histogram[MAG_BITS(delta) >> 16] += 1;
        sum += (double)__builtin_fabsf(delta);
    }
    return sum;
}

MM_DISPATCH
long mm_collect_bin_keys(const float *x, const float *base, long n, uint32_t first, uint32_t second,
                         uint32_t *keys) {
    const u16v laneBits = {1u << 0, 1u << 1, 1u << 2, 1u << 3, 1u << 4, 1u << 5, 1u << 6, 1u << 7,
                           1u << 8, 1u << 9, 1u << 10, 1u << 11, 1u << 12, 1u << 13, 1u << 14, 1u << 15};
    long count = 0;
    long i = 0;
    for (; i + 16 <= n; i += 16) {
        u16v key = (u16v)(LOAD16(x + i) - LOAD16(base + i)) & 0x7FFFFFFFu;
        u16v bin = key >> 16;
        // The hit lanes as the bits of an integer, visited lowest first (index order).
        unsigned lanes = __builtin_reduce_or((u16v)((bin == first) | (bin == second)) & laneBits);
        while (lanes != 0) {
            keys[count++] = key[__builtin_ctz(lanes)];
            lanes &= lanes - 1;
        }
    }
    for (; i < n; i++) {
        uint32_t key = MAG_BITS(x[i] - base[i]);
        uint32_t bin = key >> 16;
        if (bin == first || bin == second) keys[count++] = key;
    }
    return count;
}

// One element of a prefix mask (PrefixCursor.maskOne).
#define MASK_ONE(values, i, key, quota, ties, descending)                                                        \
    do {                                                                                                       \
        uint32_t b_;                                                                                           \
        __builtin_memcpy(&b_, (values) + (i), 4);                                                              \
        uint32_t m_ = b_ & 0x7FFFFFFFu;                                                                        \
        int keep_ = (descending) ? m_ > (key) : m_ < (key);                                                    \
        if (m_ == (key)) {                                                                                     \
            (ties) += 1;                                                                                       \
            keep_ = (ties) <= (quota);                                                                         \
        }                                                                                                      \
        b_ &= (0u - (uint32_t)keep_) | 0x80000000u;                                                            \
        __builtin_memcpy((values) + (i), &b_, 4);                                                              \
    } while (0)

MM_DISPATCH
void mm_prefix_mask(float *values, long n, uint32_t key, long quota, long *ties_io, int descending) {
    long ties = *ties_io;
    long i = 0;
    while (i + 16 <= n) {
        u16v bits = LOAD_BITS16(values + i);
        u16v magnitude = bits & 0x7FFFFFFFu;
        u16v equal = (u16v)(magnitude == key);
        u16v keep = descending ? (u16v)(magnitude > key) : (u16v)(magnitude < key);
        long equalCount = (long)(__builtin_reduce_add(equal & 1u));
        if (equalCount > 0) {
            if (ties + equalCount <= quota) {
                keep |= equal;
            } else if (ties < quota) {
                for (long j = i; j < i + 16; j++) MASK_ONE(values, j, key, quota, ties, descending);
                i += 16;
                continue;
            }
            ties += equalCount;
        }
        STORE(values + i, bits & (keep | 0x80000000u));
        i += 16;
    }
    for (; i < n; i++) MASK_ONE(values, i, key, quota, ties, descending);
    *ties_io = ties;
}

MM_DISPATCH
void mm_outlier_mask(float *values, long n, uint32_t lowKey, long lowQuota, long *lowTies, uint32_t highKey,
                     long highQuota, long *highTies) {
    long low = *lowTies, high = *highTies;
    for (long i = 0; i < n; i++) {
        uint32_t bits;
        __builtin_memcpy(&bits, values + i, 4);
        uint32_t key = bits & 0x7FFFFFFFu;
        int dropped = key < lowKey, inHead = key < highKey;
        if (key == lowKey) dropped = ++low <= lowQuota;
        if (key == highKey) inHead = ++high <= highQuota;
        bits &= (0u - (uint32_t)(!dropped && inHead)) | 0x80000000u;
        __builtin_memcpy(values + i, &bits, 4);
    }
    *lowTies = low;
    *highTies = high;
}

MM_DISPATCH
void mm_subtract(const float *x, const float *base, long n, float *out) {
    long i = 0;
    for (; i + 16 <= n; i += 16) STORE(out + i, LOAD16(x + i) - LOAD16(base + i));
    for (; i < n; i++) out[i] = x[i] - base[i];
}

MM_DISPATCH
void mm_scale(float *values, long n, float factor) {
    long i = 0;
    for (; i + 16 <= n; i += 16) STORE(values + i, LOAD16(values + i) * factor);
    for (; i < n; i++) values[i] *= factor;
}

// SplitMix64 in counter mode (CounterRandom.bits): the high 32 bits of mix64(key + (index + 1)·γ).
#define SPLITMIX_HIGH(z0)                                                                                      \
    ({                                                                                                         \
        __typeof__(z0) z_ = (z0);                                                                              \
        z_ = (z_ ^ (z_ >> 30)) * 0xBF58476D1CE4E5B9ull;                                                        \
        z_ = (z_ ^ (z_ >> 27)) * 0x94D049BB133111EBull;                                                        \
        (z_ ^ (z_ >> 31)) >> 32;                                                                               \
    })

typedef uint64_t u8v __attribute__((vector_size(64)));
typedef uint32_t u8w __attribute__((vector_size(32)));

MM_DISPATCH
void mm_random_mask(float *values, long n, uint64_t key, long start, uint64_t threshold) {
    const uint64_t gamma = 0x9E3779B97F4A7C15ull;
    const u8v lanes = {0, 1, 2, 3, 4, 5, 6, 7};
    long i = 0;
    for (; i + 8 <= n; i += 8) {
        u8v index = lanes + (uint64_t)(start + i);
        u8v draw = SPLITMIX_HIGH(key + (index + 1) * gamma);
        u8w keep = __builtin_convertvector((u8v)(draw < threshold), u8w);
        u8w bits;
        __builtin_memcpy(&bits, values + i, sizeof bits);
        STORE(values + i, bits & (keep | 0x80000000u));
    }
    for (; i < n; i++) {
        uint64_t draw = SPLITMIX_HIGH(key + ((uint64_t)(start + i) + 1) * gamma);
        uint32_t bits;
        __builtin_memcpy(&bits, values + i, 4);
        bits &= (draw < threshold ? 0xFFFFFFFFu : 0u) | 0x80000000u;
        __builtin_memcpy(values + i, &bits, 4);
    }
}

MM_DISPATCH
void mm_linear_combine(const float *weighted, long stride, long tasks, int normalize, float divisor, float lambda,
                       const float *base, long n, float *out) {
    long i = 0;
    for (; i + 16 <= n; i += 16) {
        f16v sum = LOAD16(weighted + i);
        for (long t = 1; t < tasks; t++) sum = sum + LOAD16(weighted + t * stride + i);
        if (normalize) sum = sum / divisor;
        if (lambda != 1) sum = sum * lambda;
        STORE(out + i, LOAD16(base + i) + sum);
    }
    for (; i < n; i++) {
        float sum = weighted[i];
        for (long t = 1; t < tasks; t++) sum = sum + weighted[t * stride + i];
        if (normalize) sum = sum / divisor;
        if (lambda != 1) sum = sum * lambda;
        out[i] = base[i] + sum;
    }
}

MM_DISPATCH
void mm_consensus_combine(const float *weighted, long stride, const float *weights, long tasks, int normalize,
                          float lambda, const float *base, long n, float *out) {
    const f16v zero = {0};
    long i = 0;
    for (; i + 16 <= n; i += 16) {
        f16v sum = LOAD16(weighted + i);
        for (long t = 1; t < tasks; t++) sum = sum + LOAD16(weighted + t * stride + i);
        u16v positive = (u16v)(sum >= 0);
        f16v mixed = zero, divisor = zero;
        for (long t = 0; t < tasks; t++) {
            f16v value = LOAD16(weighted + t * stride + i);
            u16v keep = (positive & (u16v)(value > 0)) | (~positive & (u16v)(value < 0));
            mixed = mixed + (f16v)((u16v)value & keep);
            divisor = divisor + (f16v)((u16v)(zero + weights[t]) & keep);
        }
        if (normalize) mixed = mixed / (f16v)SELECT((u16v)(divisor == 0), (u16v)(zero + 1), (u16v)divisor);
        if (lambda != 1) mixed = mixed * lambda;
        STORE(out + i, LOAD16(base + i) + mixed);
    }
    for (; i < n; i++) {
        float sum = weighted[i];
        for (long t = 1; t < tasks; t++) sum = sum + weighted[t * stride + i];
        int positive = sum >= 0;
        float mixed = 0, divisor = 0;
        for (long t = 0; t < tasks; t++) {
            float value = weighted[t * stride + i];
            int keep = (positive && value > 0) || (!positive && value < 0);
            mixed = mixed + (keep ? value : 0);
            divisor = divisor + (keep ? weights[t] : 0);
        }
        if (normalize) mixed = mixed / (divisor == 0 ? 1 : divisor);
        if (lambda != 1) mixed = mixed * lambda;
        out[i] = base[i] + mixed;
    }
}
