/*
 * kws_int8_dsp_internal.h - what the DSP-extension kernels of this directory share (one kernel per
 * file, as CMSIS-NN has them): the DSP detection, the requantisation and the operand helpers.
 * Private to firmware/src/int8_dsp/; the kernels' interface is kws_int8_ops_dsp.h.
 *
 * The technique, in one place:
 *   - four int8 operands come in with one 32-bit load; SXTB16 sign-extends bytes 0 and 2 into
 *     two int16 lanes, SXTB16 with ROR #8 bytes 1 and 3. Doing the same to both operands keeps
 *     the lanes paired (0 with 0, 2 with 2; 1 with 1, 3 with 3), so SMLAD adds two products to
 *     an int32 accumulator per instruction.
 *   - the input offset (-zero point, in [-127, 128]) is either added to the widened inputs with
 *     SADD16 (x + offset stays within int16), or, where every tap of a pixel is inside the
 *     input, folded out of the loop: sum(w * (x + offset)) = sum(w * x) + offset * sum(w).
 *   - taps outside the input (padding) are skipped, as the reference kernels skip them; the
 *     valid filter window of a pixel is worked out once per pixel, not tested per tap.
 * int32 accumulation wraps modulo 2^32 both here (SMLAD, SMLAxy) and in the reference (add32),
 * so the different summation order gives the same integers.
 */
#ifndef KWS_INT8_DSP_INTERNAL_H
#define KWS_INT8_DSP_INTERNAL_H

#include "kws_int8_ops_dsp.h"

#include <stddef.h>
#include <string.h>

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#define KWS_USE_DSP 1
#include <arm_acle.h>
#else
#define KWS_USE_DSP 0
#endif

/* Helium (MVE, integer: the Cortex-M55) besides the DSP extension: the matrix product of the
 * pointwise and im2col convolutions (kws_dsp_conv_gemm) multiplies 16 int8 pairs an instruction
 * (VMLADAVA.S8). -DKWS_DSP_NO_MVE builds the DSP-extension code instead (same integers). */
#if KWS_USE_DSP && defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1) && !defined(KWS_DSP_NO_MVE)
#define KWS_USE_MVE 1
#include <arm_mve.h>
#else
#define KWS_USE_MVE 0
#endif

/*
 * kws_multiply_by_quantized_multiplier_double, the same function, in fewer instructions:
 *   SRDHM(a, b) = trunc((a*b + nudge) / 2^31) with nudge 2^30 for a*b >= 0, 1 - 2^30 otherwise,
 *   equals floor((a*b + 2^30) / 2^31) for every a*b (for a*b < 0, with y = a*b + 2^30 < 2^30:
 *   trunc((y + 1 - 2^31) / 2^31) = ceil((y + 1 - 2^31) / 2^31) = floor(y / 2^31)), and its one
 *   saturating case (a = b = INT32_MIN) cannot happen because b is a multiplier >= 0.
 *   RoundingDivideByPOT is kept as the reference writes it (mask/threshold), in 32 bits.
 */
static inline int32_t requant_double(int32_t acc, int32_t multiplier, int32_t shift)
{
    const int32_t left = shift > 0 ? shift : 0;
    const int32_t right = shift > 0 ? 0 : -shift;
    const int32_t x = (int32_t)((uint32_t)acc << left);
    const int32_t h = (int32_t)(((int64_t)x * multiplier + ((int64_t)1 << 30)) >> 31);
    const uint32_t mask = ((uint32_t)1 << right) - 1u;
    const int32_t remainder = (int32_t)((uint32_t)h & mask);
    const int32_t threshold = (int32_t)(mask >> 1) + (h < 0 ? 1 : 0);
    return (h >> right) + (remainder > threshold ? 1 : 0);
}

/* kws_multiply_by_quantized_multiplier: one 64-bit rounding. */
static inline int32_t requant_single(int32_t acc, int32_t multiplier, int32_t shift)
{
    const int total = 31 - shift;
    return (int32_t)(((int64_t)acc * multiplier + ((int64_t)1 << (total - 1))) >> total);
}

static inline int8_t requantize(int32_t acc, int32_t multiplier, int32_t shift, int32_t rounding, int32_t offset,
                                int32_t lo, int32_t hi)
{
    int32_t v = rounding == KWS_ROUNDING_SINGLE ? requant_single(acc, multiplier, shift)
                                                : requant_double(acc, multiplier, shift);
    v = (int32_t)((uint32_t)v + (uint32_t)offset);
    return (int8_t)(v < lo ? lo : (v > hi ? hi : v));
}

/*
 * The double rounding with everything that depends only on the channel worked out once per
 * channel (the kernels keep one of these per output channel of the channels in flight), and
 * the layer's output offset and clamp beside it, so that one pointer reaches all of them.
 * left1 = left shift + 1 (see rq_store); half1 = (mask >> 1) + 1: "remainder > threshold"
 * becomes "remainder >= threshold1", which the assembler turns into a carry (CMP, ADC).
 */
typedef struct {
    int32_t multiplier, left1, right, mask, half1, offset, lo, hi;
} kws_rq;

static inline kws_rq rq_make(int32_t multiplier, int32_t shift, int32_t offset, int32_t lo, int32_t hi)
{
    kws_rq r;
    r.multiplier = multiplier;
    r.left1 = (shift > 0 ? shift : 0) + 1;
    r.right = shift > 0 ? 0 : -shift;
    r.mask = (int32_t)(((uint32_t)1 << r.right) - 1u);
    r.half1 = (int32_t)((uint32_t)r.mask >> 1) + 1;
    r.offset = offset;
    r.lo = lo;
    r.hi = hi;
    return r;
}

/* requant_double(acc, multiplier, shift), from the per-channel constants; any acc. */
static inline __attribute__((always_inline)) int32_t rq_value(const kws_rq *r, int32_t acc)
{
    const int32_t x = (int32_t)((uint32_t)acc << (r->left1 - 1));
    const int32_t h = (int32_t)(((int64_t)x * r->multiplier + ((int64_t)1 << 30)) >> 31);
    const int32_t remainder = h & r->mask;
    const int32_t threshold1 = r->half1 + (int32_t)((uint32_t)h >> 31);
    return (h >> r->right) + (remainder >= threshold1 ? 1 : 0);
}

/*
 * out = clamp(rq_value(acc) + offset, lo, hi), as the reference's requantize (lo <= hi), for
 * |acc| < 2^(30 - left shift), which the kernels check per layer before they run
 * (requant_bound_ok). Then x = acc << left fits in 31 bits, 2x does not overflow, and
 *   SMMULR(2x, m) = floor((2x*m + 2^31) / 2^32) = floor((x*m + 2^30) / 2^31) = SRDHM(x, m)
 * (see requant_double): one instruction for the 64-bit part. 17 instructions in all; GCC's
 * version of the C reloads the constants from the stack around every step (about 30).
 */
static inline __attribute__((always_inline)) void rq_store(const kws_rq *r, int32_t acc, int8_t *out)
{
#if KWS_USE_DSP && !defined(KWS_DSP_NO_ASM)
    int32_t m, h, t0, t1, t2;
    __asm__ volatile("ldrd %[m], %[t0], [%[r]]\n\t"      /* multiplier, left1 */
                     "lsl %[t0], %[acc], %[t0]\n\t"       /* 2x */
                     "smmulr %[h], %[t0], %[m]\n\t"       /* h = SRDHM(x, m) */
                     "ldrd %[m], %[t0], [%[r], #8]\n\t"   /* right, mask */
                     "and %[t0], %[h], %[t0]\n\t"         /* remainder */
                     "ldrd %[t1], %[t2], [%[r], #16]\n\t" /* half1, offset */
                     "add %[t1], %[t1], %[h], lsr #31\n\t" /* threshold1 */
                     "asr %[h], %[h], %[m]\n\t"
                     "cmp %[t0], %[t1]\n\t"
                     "adc %[h], %[h], %[t2]\n\t"          /* + (remainder >= threshold1) + offset */
                     "ldrd %[t0], %[t1], [%[r], #24]\n\t" /* lo, hi */
                     "cmp %[h], %[t0]\n\t"
                     "it lt\n\t"
                     "movlt %[h], %[t0]\n\t"
                     "cmp %[h], %[t1]\n\t"
                     "it gt\n\t"
                     "movgt %[h], %[t1]\n\t"
                     "strb %[h], [%[out]]\n\t"
                     : [m] "=&r"(m), [h] "=&r"(h), [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2)
                     : [r] "r"(r), [acc] "r"(acc), [out] "r"(out)
                     : "cc", "memory");
#else
    int32_t v = (int32_t)((uint32_t)rq_value(r, acc) + (uint32_t)r->offset);
    v = v < r->lo ? r->lo : v;
    *out = (int8_t)(v > r->hi ? r->hi : v);
#endif
}

/*
 * A cheaper form of the same double rounding, for layers whose every channel has a right shift r
 * in [1, 21] (left shift 0: real layers have r around 5 to 10) and the whole int8 output range
 * (act_min -128, act_max 127, e.g. ReLU with output zero point -128). With |acc| < 2^30 (the
 * kernels' bound, kws_dsp_rq_bound_ok) and multiplier m >= 0, h = SRDHM(acc, m) = SMMULR(2 acc, m)
 * (see rq_store), and gemmlowp's RoundingDivideByPOT(h, r) = (h + 2^(r-1) - [h < 0]) >> r (round
 * half away from zero; see kws_depthwise_3x3_s8_dsp.c). Two folds make it three instructions:
 *   - [h < 0] may be taken as [acc < 0]: m >= 0 gives h <= 0 for acc < 0, and where h = 0 both
 *     (2^(r-1) - 1) >> r and 2^(r-1) >> r are 0;
 *   - SMMLAR adds its third operand to the rounded high word, so the nudge, the sign term and
 *     the output offset (times 2^r: adding it before the shift is adding it after) go in there.
 *     |h| <= 2^30 and |2^(r-1) + offset 2^r| < 2^29 for r <= 21, so the sum cannot overflow.
 *   out = SSAT8((SMMLAR(2 acc, m, round + (acc >> 31))) >> r), round = 2^(r-1) + offset 2^r.
 * Layers outside these conditions use rq_store.
 */
typedef struct {
    int32_t multiplier, round, right;
} kws_rqf;

static inline kws_rqf rqf_make(int32_t multiplier, int32_t shift, int32_t offset)
{
    kws_rqf r;
    r.multiplier = multiplier;
    r.right = -shift;
    r.round = (int32_t)(((uint32_t)1 << (r.right - 1)) + (uint32_t)offset * ((uint32_t)1 << r.right));
    return r;
}

/* Whether rqf_make / rqf_value apply to every output channel of p (see kws_rqf). */
static inline int rqf_layer_ok(const kws_conv_params *p)
{
    int32_t c;
    if (p->act_min != -128 || p->act_max != 127 || p->output_offset < -128 || p->output_offset > 127) return 0;
    for (c = 0; c < p->output.c; ++c)
        if (p->shifts[c] < -21 || p->shifts[c] > -1 || p->multipliers[c] < 0) return 0;
    return 1;
}

/* kws_rqf's formula on an accumulator already doubled (acc2 = 2 acc), in C: the clamped output. */
static inline int32_t rqf_value_c(int32_t multiplier, int32_t round, int32_t right, int32_t acc2)
{
    const int32_t ra = (int32_t)((uint32_t)round + (uint32_t)(acc2 >> 31));
    const int32_t t = (int32_t)(((int64_t)ra * 4294967296LL + (int64_t)acc2 * multiplier + 2147483648LL) >> 32);
    const int32_t v = t >> right;
    return v < -128 ? -128 : (v > 127 ? 127 : v);
}

#if KWS_USE_DSP

/* ------------------------------------------------------------------ operand helpers */

/* Four int8 at any address; Armv7E-M loads unaligned words in one LDR. memcpy keeps it C99. */
static inline int32_t load4(const int8_t *p)
{
    int32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* SXTB16 of x rotated right by 8 (bytes 1 and 3). GCC 12's arm_acle.h has no __ror and does not
 * fold a rotate into SXTB16, so one instruction is spelled out. */
static inline int32_t sxtb16_ror8(int32_t x)
{
    int32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
    return r;
}

/* a + SXTB16(x ROR 8), lane-wise. */
static inline int32_t sxtab16_ror8(int32_t a, int32_t x)
{
    int32_t r;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(a), "r"(x));
    return r;
}

/* Wrapping int32 arithmetic, as the reference kernels' add32. */
static inline int32_t wadd(int32_t a, int32_t b) { return (int32_t)((uint32_t)a + (uint32_t)b); }
static inline int32_t wmul(int32_t a, int32_t b) { return (int32_t)((uint32_t)a * (uint32_t)b); }

/* (offset, offset) in two int16 lanes, for SADD16. */
static inline int32_t lanes2(int32_t v) { return (int32_t)(((uint32_t)v & 0xFFFFu) * 0x00010001u); }

/* The input offsets the SADD16 paths can take: x + offset must stay within int16. */
static inline int offset_fits(int32_t offset) { return offset >= -32000 && offset <= 32000; }

/*
 * rq_store's precondition, |acc| < 2^(30 - left shift), for an output channel whose
 * accumulator is bias + sum(w * (x + offset)): |acc| <= |bias| + max|x + offset| * sum|w|.
 * Real layers pass by orders of magnitude (DS-CNN-S's pointwise layers: at most 255 * 64 * 128
 * plus the bias, about 2^21 against 2^30); a layer that does not runs on the plain kernel.
 */
int kws_dsp_rq_bound_ok(const kws_conv_params *p, int32_t channel, int32_t bias, int32_t weight_abs_sum);

/* kws_dsp_rq_bound_ok for every output channel of a CONV_2D (filters [out.c][K]). */
int kws_dsp_conv_bound_ok(const kws_conv_params *p, const int8_t *filter, const int32_t *bias);

/*
 * The matrix product the fast CONV_2D paths end in (kws_conv_s8_dsp.c): out[q][oc] =
 * requantise(bias[oc] + sum_k filter[oc][k] * (x[q][k] + input offset)), q < rows, k < depth, x
 * rows consecutive, outputs out.c apart per row; the requantisation, output offset, clamp and
 * input offset from p. Preconditions as kws_conv_s8_dsp checks them: offset_fits, the double
 * rounding, kws_dsp_conv_bound_ok for these filters and biases.
 */
void kws_dsp_conv_gemm(const kws_conv_params *p, const int8_t *x, int32_t rows, int32_t depth, const int8_t *filter,
                       const int32_t *bias, int8_t *output);

/* kws_dsp_rq_bound_ok for every channel of a DEPTHWISE_CONV_2D (filter [taps][out.c]). */
int kws_dsp_depthwise_bound_ok(const kws_conv_params *p, const int8_t *filter, const int32_t *bias);

/* Valid filter taps [*lo, *hi) of one dimension: start + dilation * k in [0, in). */
static inline __attribute__((always_inline)) void valid_taps(int32_t start, int32_t dilation, int32_t filter,
                                                              int32_t in, int32_t *lo, int32_t *hi)
{
    int32_t a = 0, b = filter;
    if (start < 0) a = (-start + dilation - 1) / dilation;
    if (start + dilation * (filter - 1) >= in) b = in - start > 0 ? (in - start + dilation - 1) / dilation : 0;
    if (b < a) b = a;
    *lo = a;
    *hi = b;
}

#endif /* KWS_USE_DSP */

#endif /* KWS_INT8_DSP_INTERNAL_H */
