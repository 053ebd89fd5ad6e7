/*
 * kws_int8_ops_dsp.c - DSP-extension (Armv7E-M) int8 kernels, integer-for-integer equal to the
 * plain-C reference kernels of kws_int8_ops.c. See kws_int8_ops_dsp.h for what is specialised.
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
#include "kws_int8_ops_dsp.h"

#include <stddef.h>
#include <string.h>

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#define KWS_USE_DSP 1
#include <arm_acle.h>
#else
#define KWS_USE_DSP 0
#endif

int kws_dsp_enabled(void) { return KWS_USE_DSP; }

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

int32_t kws_dsp_requantize(int32_t acc, int32_t multiplier, int32_t shift, int32_t rounding)
{
    kws_rq r;
    if (rounding == KWS_ROUNDING_SINGLE) return requant_single(acc, multiplier, shift);
    r = rq_make(multiplier, shift, 0, -128, 127);
    return rq_value(&r, acc);
}

#if !KWS_USE_DSP

/* No DSP extension: the plain kernels. */
int kws_conv_s8_dsp(const kws_conv_params *p, const int8_t *input, const int8_t *filter, const int32_t *bias,
                    int8_t *output)
{
    return kws_conv_s8(p, input, filter, bias, output);
}

int kws_depthwise_conv_s8_dsp(const kws_conv_params *p, const int8_t *input, const int8_t *filter,
                              const int32_t *bias, int8_t *output)
{
    return kws_depthwise_conv_s8(p, input, filter, bias, output);
}

int kws_avg_pool_s8_dsp(const kws_pool_params *p, const int8_t *input, int8_t *output)
{
    return kws_avg_pool_s8(p, input, output);
}

int kws_fully_connected_s8_dsp(const kws_fc_params *p, const int8_t *input, const int8_t *weights,
                               const int32_t *bias, int8_t *output)
{
    return kws_fully_connected_s8(p, input, weights, bias, output);
}

#else /* KWS_USE_DSP */

/* ------------------------------------------------------------------ helpers */

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
static int offset_fits(int32_t offset) { return offset >= -32000 && offset <= 32000; }

/* sum |w| of n int8: USADA8 of (w + 128) against 128, four at a time. */
static int32_t abs_sum(const int8_t *w, int32_t n)
{
    uint32_t s = 0;
    int32_t i;
    for (i = n >> 2; i > 0; --i, w += 4) s = __usada8((uint32_t)load4(w) ^ 0x80808080u, 0x80808080u, s);
    for (i = n & 3; i > 0; --i, ++w) s += (uint32_t)(*w < 0 ? -*w : *w);
    return (int32_t)s;
}

/*
 * rq_store's precondition, |acc| < 2^(30 - left shift), for an output channel whose
 * accumulator is bias + sum(w * (x + offset)): |acc| <= |bias| + max|x + offset| * sum|w|.
 * Real layers pass by orders of magnitude (DS-CNN-S's pointwise layers: at most 255 * 64 * 128
 * plus the bias, about 2^21 against 2^30); a layer that does not runs on the plain kernel.
 */
static int rq_bound_ok(const kws_conv_params *p, int32_t channel, int32_t bias, int32_t weight_abs_sum)
{
    const int64_t off = p->input_offset;
    const int64_t x_max = (off - 128 < 0 ? 128 - off : off - 128) > (off + 127 < 0 ? -off - 127 : off + 127)
                              ? (off - 128 < 0 ? 128 - off : off - 128)
                              : (off + 127 < 0 ? -off - 127 : off + 127);
    const int32_t left = p->shifts[channel] > 0 ? p->shifts[channel] : 0;
    const int64_t bound = (bias < 0 ? -(int64_t)bias : (int64_t)bias) + x_max * weight_abs_sum;
    return left <= 30 && bound < ((int64_t)1 << (30 - left));
}

/* rq_bound_ok for every output channel of a CONV_2D (filters [out.c][K]). */
static int conv_bound_ok(const kws_conv_params *p, const int8_t *filter, const int32_t *bias)
{
    const int32_t per_filter = p->filter.h * p->filter.w * p->filter.c;
    int32_t oc;
    for (oc = 0; oc < p->output.c; ++oc)
        if (!rq_bound_ok(p, oc, bias != NULL ? bias[oc] : 0, abs_sum(filter + (size_t)oc * per_filter, per_filter)))
            return 0;
    return 1;
}

/* rq_bound_ok for every channel of a DEPTHWISE_CONV_2D (filter [taps][out.c]). */
static int depthwise_bound_ok(const kws_conv_params *p, const int8_t *filter, const int32_t *bias)
{
    const int32_t taps = p->filter.h * p->filter.w, channels = p->output.c;
    int32_t c, t;
    for (c = 0; c < channels; ++c) {
        int32_t sum = 0;
        for (t = 0; t < taps; ++t) {
            const int32_t w = filter[(size_t)t * channels + c];
            sum += w < 0 ? -w : w;
        }
        if (!rq_bound_ok(p, c, bias != NULL ? bias[c] : 0, sum)) return 0;
    }
    return 1;
}

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

/* sum(w[0..n)) with SMLAD against (1, 1). */
static int32_t weight_sum(const int8_t *w, int32_t n)
{
    const int32_t ones = 0x00010001;
    int32_t s = 0, i;
    for (i = n >> 2; i > 0; --i) {
        const int32_t v = load4(w);
        w += 4;
        s = __smlad(__sxtb16(v), ones, s);
        s = __smlad(sxtb16_ror8(v), ones, s);
    }
    for (i = n & 3; i > 0; --i) s += *w++;
    return s;
}

/*
 * Two pixels (xa and xa + dx) x two filters (w0 and w0 + dw), n int8 each:
 * acc[pixel * 2 + filter] += sum(w * (x + offset)), the offset added only when add_offset (a
 * constant at each call site, so the SADD16s vanish where the offset is folded). dx = 0 or
 * dw = 0 computes one pixel or one filter twice (the caller drops the copy). Per 4 inputs:
 * 4 loads, 8 SXTB16, 8 SMLAD for 16 MACs (+4 SADD16). The second operand of each pair is
 * addressed by a register offset rather than its own pointer: with 4 accumulators and 6
 * widened operands live, two fewer pointers keep the loop out of the stack.
 */
#define KWS_MAC4(k)                                                                                          \
    do {                                                                                                     \
        const int32_t u_ = load4(w0 + (k)), v_ = load4(w0 + dw + (k));                                       \
        const int32_t u02 = __sxtb16(u_), u13 = sxtb16_ror8(u_), v02 = __sxtb16(v_), v13 = sxtb16_ror8(v_); \
        int32_t x_ = load4(xa + (k)), x02 = __sxtb16(x_), x13 = sxtb16_ror8(x_);                             \
        if (add_offset) {                                                                                    \
            x02 = __sadd16(x02, off2);                                                                       \
            x13 = __sadd16(x13, off2);                                                                       \
        }                                                                                                    \
        a0 = __smlad(x02, u02, a0);                                                                          \
        a0 = __smlad(x13, u13, a0);                                                                          \
        a1 = __smlad(x02, v02, a1);                                                                          \
        a1 = __smlad(x13, v13, a1);                                                                          \
        x_ = load4(xa + dx + (k));                                                                           \
        x02 = __sxtb16(x_);                                                                                  \
        x13 = sxtb16_ror8(x_);                                                                               \
        if (add_offset) {                                                                                    \
            x02 = __sadd16(x02, off2);                                                                       \
            x13 = __sadd16(x13, off2);                                                                       \
        }                                                                                                    \
        b0 = __smlad(x02, u02, b0);                                                                          \
        b0 = __smlad(x13, u13, b0);                                                                          \
        b1 = __smlad(x02, v02, b1);                                                                          \
        b1 = __smlad(x13, v13, b1);                                                                          \
    } while (0)

/*
 * The same 16 MACs as KWS_MAC4 (offset folded) as assembler text, for the hot loop of the
 * pointwise convolutions. Written out because GCC 12 spills the loop's pointers to the stack
 * (about 68 instead of 43 instructions per 32 MACs): the loop needs 4 accumulators, 2
 * pointers, the 2 register offsets and 6 temporaries, all 14 allocatable registers, so the
 * loop end is compared with a value on the stack.
 */
#define KWS_ASM_MAC4                                                                                         \
    "ldr %[t0], [%[w], %[dw]]\n\t"                                                                             \
    "ldr %[t1], [%[w]], #4\n\t"                                                                               \
    "sxtb16 %[t2], %[t1]\n\t"                                                                                 \
    "sxtb16 %[t1], %[t1], ror #8\n\t"                                                                         \
    "sxtb16 %[t3], %[t0]\n\t"                                                                                 \
    "sxtb16 %[t0], %[t0], ror #8\n\t"                                                                         \
    "ldr %[t4], [%[x], %[dx]]\n\t"                                                                            \
    "sxtb16 %[t5], %[t4], ror #8\n\t"                                                                         \
    "sxtb16 %[t4], %[t4]\n\t"                                                                                 \
    "smlad %[b0], %[t4], %[t2], %[b0]\n\t"                                                                    \
    "smlad %[b0], %[t5], %[t1], %[b0]\n\t"                                                                    \
    "smlad %[b1], %[t4], %[t3], %[b1]\n\t"                                                                    \
    "smlad %[b1], %[t5], %[t0], %[b1]\n\t"                                                                    \
    "ldr %[t4], [%[x]], #4\n\t"                                                                               \
    "sxtb16 %[t5], %[t4], ror #8\n\t"                                                                         \
    "sxtb16 %[t4], %[t4]\n\t"                                                                                 \
    "smlad %[a0], %[t4], %[t2], %[a0]\n\t"                                                                    \
    "smlad %[a0], %[t5], %[t1], %[a0]\n\t"                                                                    \
    "smlad %[a1], %[t4], %[t3], %[a1]\n\t"                                                                    \
    "smlad %[a1], %[t5], %[t0], %[a1]\n\t"

/* KWS_ASM_MAC4 for one filter row: the weights advance, the input pointer stays (the caller
 * steps it by a row). */
#define KWS_ASM_MAC4_ROW                                                                                     \
    "ldr %[t0], [%[w], %[dw]]\n\t"                                                                             \
    "ldr %[t1], [%[w]], #4\n\t"                                                                               \
    "sxtb16 %[t2], %[t1]\n\t"                                                                                 \
    "sxtb16 %[t1], %[t1], ror #8\n\t"                                                                         \
    "sxtb16 %[t3], %[t0]\n\t"                                                                                 \
    "sxtb16 %[t0], %[t0], ror #8\n\t"                                                                         \
    "ldr %[t4], [%[x], %[dx]]\n\t"                                                                            \
    "sxtb16 %[t5], %[t4], ror #8\n\t"                                                                         \
    "sxtb16 %[t4], %[t4]\n\t"                                                                                 \
    "smlad %[b0], %[t4], %[t2], %[b0]\n\t"                                                                    \
    "smlad %[b0], %[t5], %[t1], %[b0]\n\t"                                                                    \
    "smlad %[b1], %[t4], %[t3], %[b1]\n\t"                                                                    \
    "smlad %[b1], %[t5], %[t0], %[b1]\n\t"                                                                    \
    "ldr %[t4], [%[x]]\n\t"                                                                                   \
    "sxtb16 %[t5], %[t4], ror #8\n\t"                                                                         \
    "sxtb16 %[t4], %[t4]\n\t"                                                                                 \
    "smlad %[a0], %[t4], %[t2], %[a0]\n\t"                                                                    \
    "smlad %[a0], %[t5], %[t1], %[a0]\n\t"                                                                    \
    "smlad %[a1], %[t4], %[t3], %[a1]\n\t"                                                                    \
    "smlad %[a1], %[t5], %[t0], %[a1]\n\t"

static inline __attribute__((always_inline)) void mac_2x2(const int8_t *xa, int32_t dx, const int8_t *w0,
                                                           int32_t dw, int32_t n, int32_t offset,
                                                           const int add_offset, int32_t acc[4])
{
    int32_t a0 = acc[0], a1 = acc[1], b0 = acc[2], b1 = acc[3], i;
    const int32_t off2 = lanes2(offset);
#ifndef KWS_DSP_NO_ASM
    if (!add_offset && n >= 8) {
        const int8_t *end = w0 + (n & ~7);
        int32_t t0, t1, t2, t3, t4, t5;
        __asm__("1:\n\t" KWS_ASM_MAC4 KWS_ASM_MAC4
                "ldr %[t0], %[end]\n\t"
                "cmp %[w], %[t0]\n\t"
                "bne 1b\n\t"
                : [a0] "+r"(a0), [a1] "+r"(a1), [b0] "+r"(b0), [b1] "+r"(b1), [x] "+r"(xa), [w] "+r"(w0),
                  [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3), [t4] "=&r"(t4), [t5] "=&r"(t5)
                : [dx] "r"(dx), [dw] "r"(dw), [end] "m"(end)
                : "cc", "memory");
        n &= 7;
    }
#endif
    for (i = n >> 3; i > 0; --i) { /* unrolled twice: loop overhead over 32 MACs */
        KWS_MAC4(0);
        KWS_MAC4(4);
        xa += 8;
        w0 += 8;
    }
    if (n & 4) {
        KWS_MAC4(0);
        xa += 4;
        w0 += 4;
    }
    for (i = n & 3; i > 0; --i) {
        const int32_t xav = xa[0] + (add_offset ? offset : 0), xbv = xa[dx] + (add_offset ? offset : 0);
        const int32_t uv = w0[0], vv = w0[dw];
        ++xa;
        ++w0;
        a0 = wadd(a0, xav * uv);
        a1 = wadd(a1, xav * vv);
        b0 = wadd(b0, xbv * uv);
        b1 = wadd(b1, xbv * vv);
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = b0;
    acc[3] = b1;
}

/* mac_2x2 over `rows` runs of n int8, the runs x_step apart in the input and w_step apart in
 * the filters (the valid rows of a filter window). */
static inline __attribute__((always_inline)) void mac_rows(const int8_t *xa, int32_t dx, const int8_t *w0,
                                                            int32_t dw, int32_t rows, int32_t n, size_t x_step,
                                                            size_t w_step, int32_t offset, const int add_offset,
                                                            int32_t acc[4])
{
    for (; rows > 0; --rows, xa += x_step, w0 += w_step) mac_2x2(xa, dx, w0, dw, n, offset, add_offset, acc);
}

/* One input row x two filters, offset added: the fully-connected inner loop. */
static inline __attribute__((always_inline)) void mac_1x2(const int8_t *x, const int8_t *w0, const int8_t *w1,
                                                           int32_t n, int32_t offset, int32_t acc[2])
{
    int32_t a0 = acc[0], a1 = acc[1], i;
    const int32_t off2 = lanes2(offset);
    for (i = n >> 2; i > 0; --i) {
        const int32_t vx = load4(x), u = load4(w0), v = load4(w1);
        const int32_t x02 = __sadd16(__sxtb16(vx), off2), x13 = __sadd16(sxtb16_ror8(vx), off2);
        x += 4;
        w0 += 4;
        w1 += 4;
        a0 = __smlad(x02, __sxtb16(u), a0);
        a0 = __smlad(x13, sxtb16_ror8(u), a0);
        a1 = __smlad(x02, __sxtb16(v), a1);
        a1 = __smlad(x13, sxtb16_ror8(v), a1);
    }
    for (i = n & 3; i > 0; --i) {
        const int32_t xv = *x++ + offset;
        a0 = wadd(a0, xv * *w0++);
        a1 = wadd(a1, xv * *w1++);
    }
    acc[0] = a0;
    acc[1] = a1;
}

/*
 * mac_2x2 (offset folded) over `rows` filter rows of exactly 4 int8 (in.c * filter width == 4,
 * as the 10x4 single-channel first layer of the DS-CNN family has), the input rows x_step
 * apart and the filter rows contiguous: 25 instructions per 16 MACs. Assembler for the same
 * reason as KWS_ASM_MAC4; x_step and the loop end come from the stack.
 */
static inline __attribute__((always_inline)) void mac_rows4(const int8_t *xa, int32_t dx, const int8_t *w0,
                                                             int32_t dw, int32_t rows, int32_t x_step,
                                                             int32_t acc[4])
{
    int32_t a0 = acc[0], a1 = acc[1], b0 = acc[2], b1 = acc[3];
#ifndef KWS_DSP_NO_ASM
    const int8_t *end = w0 + 4 * rows;
    int32_t t0, t1, t2, t3, t4, t5;
    __asm__("1:\n\t" KWS_ASM_MAC4_ROW
            "ldr %[t0], %[step]\n\t"
            "add %[x], %[x], %[t0]\n\t"
            "ldr %[t0], %[end]\n\t"
            "cmp %[w], %[t0]\n\t"
            "bne 1b\n\t"
            : [a0] "+r"(a0), [a1] "+r"(a1), [b0] "+r"(b0), [b1] "+r"(b1), [x] "+r"(xa), [w] "+r"(w0),
              [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3), [t4] "=&r"(t4), [t5] "=&r"(t5)
            : [dx] "r"(dx), [dw] "r"(dw), [end] "m"(end), [step] "m"(x_step)
            : "cc", "memory");
#else
    for (; rows > 0; --rows, xa += x_step, w0 += 4) {
        const int32_t u = load4(w0), v = load4(w0 + dw), va = load4(xa), vb = load4(xa + dx);
        a0 = __smlad(__sxtb16(va), __sxtb16(u), a0);
        a0 = __smlad(sxtb16_ror8(va), sxtb16_ror8(u), a0);
        a1 = __smlad(__sxtb16(va), __sxtb16(v), a1);
        a1 = __smlad(sxtb16_ror8(va), sxtb16_ror8(v), a1);
        b0 = __smlad(__sxtb16(vb), __sxtb16(u), b0);
        b0 = __smlad(sxtb16_ror8(vb), sxtb16_ror8(u), b0);
        b1 = __smlad(__sxtb16(vb), __sxtb16(v), b1);
        b1 = __smlad(sxtb16_ror8(vb), sxtb16_ror8(v), b1);
    }
#endif
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = b0;
    acc[3] = b1;
}

/*
 * Filter rows of 4 int8 cut by the input's left or right edge (padding): the valid taps of a
 * row are still inside one 4-byte word of the input row (rows are at least 4 bytes), so the
 * word is loaded from inside the row and the filter word shifted by whole bytes to line up,
 * zeros coming in where taps fall outside (their inputs then count for nothing; the offset is
 * added to every lane, harmlessly for those). Left cut: input from the row start, weights
 * shifted down by w_shr bits; right cut: input ending at the row end, weights shifted up by
 * w_shl bits.
 */
static inline __attribute__((always_inline)) void mac_rows4_cut(const int8_t *xa, int32_t dx, const int8_t *w0,
                                                                 int32_t dw, int32_t rows, int32_t x_step,
                                                                 uint32_t w_shr, uint32_t w_shl, int32_t off2,
                                                                 int32_t acc[4])
{
    int32_t a0 = acc[0], a1 = acc[1], b0 = acc[2], b1 = acc[3];
    for (; rows > 0; --rows, xa += x_step, w0 += 4) {
        const int32_t u = (int32_t)(((uint32_t)load4(w0) >> w_shr) << w_shl);
        const int32_t v = (int32_t)(((uint32_t)load4(w0 + dw) >> w_shr) << w_shl);
        const int32_t va = load4(xa), vb = load4(xa + dx);
        const int32_t u02 = __sxtb16(u), u13 = sxtb16_ror8(u), v02 = __sxtb16(v), v13 = sxtb16_ror8(v);
        const int32_t xa02 = __sadd16(__sxtb16(va), off2), xa13 = __sadd16(sxtb16_ror8(va), off2);
        const int32_t xb02 = __sadd16(__sxtb16(vb), off2), xb13 = __sadd16(sxtb16_ror8(vb), off2);
        a0 = __smlad(xa13, u13, __smlad(xa02, u02, a0));
        a1 = __smlad(xa13, v13, __smlad(xa02, v02, a1));
        b0 = __smlad(xb13, u13, __smlad(xb02, u02, b0));
        b1 = __smlad(xb13, v13, __smlad(xb02, v02, b1));
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = b0;
    acc[3] = b1;
}

/* ------------------------------------------------------------------ CONV_2D */

#ifndef KWS_DSP_NO_ASM
/*
 * conv_pointwise for the common case, kept lean: consecutive pixels (stride 1), depth a
 * multiple of 8 (no tails), so each pixel pair is one run of the assembler loop, the
 * requantisation of its four outputs and two pointer increments.
 */
static __attribute__((noinline)) void conv_pointwise_dense8(const kws_conv_params *p, const int8_t *input,
                                                             const int8_t *filter, const int32_t *bias,
                                                             int8_t *output)
{
    const int32_t depth = p->input.c, out_c = p->output.c;
    const int32_t pixels = p->output.n * p->output.h * p->output.w;
    int32_t oc;
    for (oc = 0; oc < out_c; oc += 2) {
        const int two_oc = oc + 1 < out_c;
        const int32_t oc1 = two_oc ? oc + 1 : oc;
        const int8_t *w0 = filter + (size_t)oc * depth;
        const int32_t dw = two_oc ? depth : 0;
        const int32_t start0 = wadd(bias != NULL ? bias[oc] : 0, wmul(p->input_offset, weight_sum(w0, depth)));
        const int32_t start1 = wadd(bias != NULL ? bias[oc1] : 0, wmul(p->input_offset, weight_sum(w0 + dw, depth)));
        const kws_rq r0 = rq_make(p->multipliers[oc], p->shifts[oc], p->output_offset, p->act_min, p->act_max);
        const kws_rq r1 = rq_make(p->multipliers[oc1], p->shifts[oc1], p->output_offset, p->act_min, p->act_max);
        const int8_t *xa = input;
        int8_t *o = output + oc;
        int32_t q;
        for (q = 0; q < pixels; q += 2, xa += 2 * depth, o += 2 * out_c) {
            const int two_px = q + 1 < pixels;
            const int8_t *x = xa, *w = w0, *const end = w0 + depth;
            int32_t a0 = start0, a1 = start1, b0 = start0, b1 = start1, t0, t1, t2, t3, t4, t5;
            const int32_t dx = two_px ? depth : 0;
            __asm__("1:\n\t" KWS_ASM_MAC4 KWS_ASM_MAC4
                    "ldr %[t0], %[end]\n\t"
                    "cmp %[w], %[t0]\n\t"
                    "bne 1b\n\t"
                    : [a0] "+r"(a0), [a1] "+r"(a1), [b0] "+r"(b0), [b1] "+r"(b1), [x] "+r"(x), [w] "+r"(w),
                      [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3), [t4] "=&r"(t4),
                      [t5] "=&r"(t5)
                    : [dx] "r"(dx), [dw] "r"(dw), [end] "m"(end)
                    : "cc", "memory");
            rq_store(&r0, a0, o);
            if (two_oc) rq_store(&r1, a1, o + 1);
            if (two_px) {
                rq_store(&r0, b0, o + out_c);
                if (two_oc) rq_store(&r1, b1, o + out_c + 1);
            }
        }
    }
}
#endif

/*
 * 1x1 filter, no padding: out[pixel][oc] = bias[oc] + sum_ic w[oc][ic] * (in[pixel'][ic] + offset).
 * Output channels in pairs (outer loop), so offset * sum(w) of the pair is computed once and
 * starts the accumulators; pixels in pairs (inner loop). An odd last channel or pixel is
 * computed with its partner duplicated and the duplicate's result dropped.
 */
static __attribute__((noinline)) void conv_pointwise(const kws_conv_params *p, const int8_t *input,
                                                      const int8_t *filter, const int32_t *bias, int8_t *output)
{
    const kws_dims in = p->input, out = p->output;
    const int32_t depth = in.c;
    const int32_t pixels = out.n * out.h * out.w;
    const int32_t dense = p->stride_h == 1 && p->stride_w == 1 && in.h == out.h && in.w == out.w;
    int32_t oc;
    for (oc = 0; oc < out.c; oc += 2) {
        const int two_oc = oc + 1 < out.c;
        const int8_t *w0 = filter + (size_t)oc * depth;
        const int32_t dw = two_oc ? depth : 0;
        const int32_t oc1 = two_oc ? oc + 1 : oc;
        const int32_t start0 = wadd(bias != NULL ? bias[oc] : 0, wmul(p->input_offset, weight_sum(w0, depth)));
        const int32_t start1 = wadd(bias != NULL ? bias[oc1] : 0, wmul(p->input_offset, weight_sum(w0 + dw, depth)));
        const kws_rq r0 = rq_make(p->multipliers[oc], p->shifts[oc], p->output_offset, p->act_min, p->act_max);
        const kws_rq r1 = rq_make(p->multipliers[oc1], p->shifts[oc1], p->output_offset, p->act_min, p->act_max);
        int32_t q = 0, b = 0, oy = 0, ox = 0; /* output pixel q = (b, oy, ox) */
        while (q < pixels) {
            const int8_t *xa, *xb;
            int32_t acc[4];
            const int two_px = q + 1 < pixels;
            /* Input pixels of q and q + 1. */
            if (dense) {
                xa = input + (size_t)q * depth;
                xb = two_px ? xa + depth : xa;
            } else {
                xa = input + (((size_t)b * in.h + (size_t)oy * p->stride_h) * in.w + (size_t)ox * p->stride_w) * depth;
                if (++ox == out.w) {
                    ox = 0;
                    if (++oy == out.h) {
                        oy = 0;
                        ++b;
                    }
                }
                xb = two_px ? input + (((size_t)b * in.h + (size_t)oy * p->stride_h) * in.w +
                                       (size_t)ox * p->stride_w) * depth
                            : xa;
                if (two_px && ++ox == out.w) {
                    ox = 0;
                    if (++oy == out.h) {
                        oy = 0;
                        ++b;
                    }
                }
            }
            acc[0] = start0;
            acc[1] = start1;
            acc[2] = start0;
            acc[3] = start1;
            mac_2x2(xa, (int32_t)(xb - xa), w0, dw, depth, 0, 0, acc);
            {
                int8_t *o = output + (size_t)q * out.c + oc;
                rq_store(&r0, acc[0], &o[0]);
                if (two_oc) rq_store(&r1, acc[1], &o[1]);
                if (two_px) {
                    o += out.c;
                    rq_store(&r0, acc[2], &o[0]);
                    if (two_oc) rq_store(&r1, acc[3], &o[1]);
                }
            }
            q += two_px ? 2 : 1;
        }
    }
}

/*
 * Any filter (dilation_w == 1). For each valid filter row, the valid part of the row is one
 * contiguous run of (valid columns x in.c) int8 in both the input and the filter, so the dot
 * product runs over it directly. Output channels in pairs (outer loop): offset * sum(w) over
 * the whole filter starts the accumulators of pixels whose window lies inside the input; the
 * others (padding) add the offset with SADD16 over their valid taps only. Pixels in pairs:
 * vertically (same valid rows; columns are then the same too), else horizontally (same valid
 * columns), else alone.
 */
static __attribute__((noinline)) void conv_general(const kws_conv_params *p, const int8_t *input,
                                                    const int8_t *filter, const int32_t *bias, int8_t *output)
{
    const kws_dims in = p->input, f = p->filter, out = p->output;
    const size_t per_filter = (size_t)f.h * f.w * f.c;
    const size_t x_step = (size_t)p->dilation_h * in.w * in.c, w_step = (size_t)f.w * f.c;
    int32_t b, oy, ox, oc;
    for (oc = 0; oc < out.c; oc += 2) {
        const int two_oc = oc + 1 < out.c;
        const int32_t oc1 = two_oc ? oc + 1 : oc;
        const int8_t *w0 = filter + (size_t)oc * per_filter;
        const int32_t dw = two_oc ? (int32_t)per_filter : 0;
        const int32_t part0 = bias != NULL ? bias[oc] : 0, part1 = bias != NULL ? bias[oc1] : 0;
        const int32_t full0 = wadd(part0, wmul(p->input_offset, weight_sum(w0, (int32_t)per_filter)));
        const int32_t full1 = wadd(part1, wmul(p->input_offset, weight_sum(w0 + dw, (int32_t)per_filter)));
        const kws_rq r0 = rq_make(p->multipliers[oc], p->shifts[oc], p->output_offset, p->act_min, p->act_max);
        const kws_rq r1 = rq_make(p->multipliers[oc1], p->shifts[oc1], p->output_offset, p->act_min, p->act_max);
        for (b = 0; b < out.n; ++b) {
            int32_t vpair;
            for (oy = 0; oy < out.h; oy += vpair ? 2 : 1) {
                const int32_t y0 = oy * p->stride_h - p->pad_h;
                int32_t fy0, fy1, hpair;
                valid_taps(y0, p->dilation_h, f.h, in.h, &fy0, &fy1);
                vpair = 0;
                if (oy + 1 < out.h) {
                    int32_t gy0, gy1;
                    valid_taps(y0 + p->stride_h, p->dilation_h, f.h, in.h, &gy0, &gy1);
                    vpair = gy0 == fy0 && gy1 == fy1;
                }
                for (ox = 0; ox < out.w; ox += hpair ? 2 : 1) {
                    const int32_t x0 = ox * p->stride_w - p->pad_w;
                    int32_t fx0, fx1, dx, acc[4];
                    int8_t *o = output + (((size_t)b * out.h + oy) * out.w + ox) * out.c;
                    const int full = fy0 == 0 && fy1 == f.h;
                    valid_taps(x0, 1, f.w, in.w, &fx0, &fx1);
                    hpair = 0;
                    if (!vpair && ox + 1 < out.w) {
                        int32_t gx0, gx1;
                        valid_taps(x0 + p->stride_w, 1, f.w, in.w, &gx0, &gx1);
                        hpair = gx0 == fx0 && gx1 == fx1;
                    }
                    dx = vpair ? p->stride_h * in.w * in.c : (hpair ? p->stride_w * in.c : 0);
                    if (fx0 == 0 && fx1 == f.w && fy0 < fy1) {
                        /* Whole filter rows: the valid rows' weights are contiguous, so the offset
                         * folds into offset * sum(those weights) (precomputed for the full window). */
                        const int32_t rows = fy1 - fy0;
                        const int8_t *xa =
                            input + (((size_t)b * in.h + (y0 + p->dilation_h * fy0)) * in.w + x0) * in.c;
                        const int8_t *wa = w0 + (size_t)fy0 * w_step;
                        if (full) {
                            acc[0] = acc[2] = full0;
                            acc[1] = acc[3] = full1;
                        } else {
                            const int32_t n = rows * (int32_t)w_step;
                            acc[0] = acc[2] = wadd(part0, wmul(p->input_offset, weight_sum(wa, n)));
                            acc[1] = acc[3] = wadd(part1, wmul(p->input_offset, weight_sum(wa + dw, n)));
                        }
                        if (w_step == 4)
                            mac_rows4(xa, dx, wa, dw, rows, (int32_t)x_step, acc);
                        else
                            mac_rows(xa, dx, wa, dw, rows, (int32_t)w_step, x_step, w_step, 0, 0, acc);
                    } else {
                        acc[0] = acc[2] = part0;
                        acc[1] = acc[3] = part1;
                        if (w_step == 4 && fy0 < fy1 && fx0 < fx1 && (fx0 == 0 || fx1 == f.w) && in.w * in.c >= 4) {
                            /* One side cut (see mac_rows4_cut). */
                            const int32_t cut = (fx0 + f.w - fx1) * in.c; /* bytes */
                            const int8_t *row = input + ((size_t)b * in.h + (y0 + p->dilation_h * fy0)) * in.w * in.c;
                            const int8_t *xa = fx0 > 0 ? row : row + (size_t)in.w * in.c - 4;
                            mac_rows4_cut(xa, dx, w0 + (size_t)fy0 * 4, dw, fy1 - fy0, (int32_t)x_step,
                                          fx0 > 0 ? 8u * (uint32_t)cut : 0u, fx0 > 0 ? 0u : 8u * (uint32_t)cut,
                                          lanes2(p->input_offset), acc);
                        } else if (fy0 < fy1 && fx0 < fx1) {
                            const int8_t *xa =
                                input + (((size_t)b * in.h + (y0 + p->dilation_h * fy0)) * in.w + (x0 + fx0)) * in.c;
                            mac_rows(xa, dx, w0 + ((size_t)fy0 * f.w + fx0) * f.c, dw, fy1 - fy0, (fx1 - fx0) * in.c,
                                     x_step, w_step, p->input_offset, 1, acc);
                        }
                    }
                    rq_store(&r0, acc[0], &o[oc]);
                    if (two_oc) rq_store(&r1, acc[1], &o[oc1]);
                    if (vpair || hpair) {
                        o += vpair ? (size_t)out.w * out.c : (size_t)out.c;
                        rq_store(&r0, acc[2], &o[oc]);
                        if (two_oc) rq_store(&r1, acc[3], &o[oc1]);
                    }
                }
            }
        }
    }
}

int kws_conv_s8_dsp(const kws_conv_params *p, const int8_t *input, const int8_t *filter, const int32_t *bias,
                    int8_t *output)
{
    if (p == NULL || input == NULL || filter == NULL || output == NULL || p->dilation_w != 1 ||
        p->depth_multiplier != 1 || p->filter.c != p->input.c || !offset_fits(p->input_offset) ||
        p->rounding != KWS_ROUNDING_DOUBLE || !conv_bound_ok(p, filter, bias))
        return kws_conv_s8(p, input, filter, bias, output);
    if (p->filter.h == 1 && p->filter.w == 1 && p->pad_h == 0 && p->pad_w == 0) {
#ifndef KWS_DSP_NO_ASM
        if (p->stride_h == 1 && p->stride_w == 1 && p->input.h == p->output.h && p->input.w == p->output.w &&
            p->input.c % 8 == 0) {
            conv_pointwise_dense8(p, input, filter, bias, output);
            return KWS_OK;
        }
#endif
        conv_pointwise(p, input, filter, bias, output);
    }
    else
        conv_general(p, input, filter, bias, output);
    return KWS_OK;
}

/* ------------------------------------------------------------------ DEPTHWISE_CONV_2D */

/*
 * Four channels c..c+3 of one pixel (depth_multiplier 1) over `rows` x `cols` taps: the input
 * taps x_col apart within a row and x_row apart between rows, the filter's w_row apart (its
 * columns are in.c apart). SMLABB/SMLATT: the products are per channel, so there is no pair
 * to add within a channel. add_offset as in mac_2x2.
 */
static inline __attribute__((always_inline)) void dw_taps4(const int8_t *ip, const int8_t *fp, int32_t rows,
                                                            int32_t cols, int32_t x_col, int32_t w_col,
                                                            int32_t x_row, int32_t w_row, int32_t off2,
                                                            const int add_offset, int32_t acc[4])
{
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    for (; rows > 0; --rows, ip += x_row, fp += w_row) {
        const int8_t *xi = ip, *wi = fp, *wend = fp + cols * w_col;
        do {
            const int32_t vx = load4(xi), vw = load4(wi);
            int32_t x02 = __sxtb16(vx), x13 = sxtb16_ror8(vx);
            const int32_t w02 = __sxtb16(vw), w13 = sxtb16_ror8(vw);
            if (add_offset) {
                x02 = __sadd16(x02, off2);
                x13 = __sadd16(x13, off2);
            }
            xi += x_col;
            wi += w_col;
            a0 = __smlabb(x02, w02, a0);
            a2 = __smlatt(x02, w02, a2);
            a1 = __smlabb(x13, w13, a1);
            a3 = __smlatt(x13, w13, a3);
        } while (wi != wend);
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

/* dw_taps4 for two pixels dx apart with the same valid window: the filter word and its
 * widening are shared (17 instead of 28 instructions per tap of both). */
static inline __attribute__((always_inline)) void dw_taps4x2(const int8_t *ip, int32_t dx, const int8_t *fp,
                                                              int32_t rows, int32_t cols, int32_t x_col,
                                                              int32_t w_col, int32_t x_row, int32_t w_row,
                                                              int32_t off2, const int add_offset, int32_t acc[8])
{
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    int32_t b0 = acc[4], b1 = acc[5], b2 = acc[6], b3 = acc[7];
    for (; rows > 0; --rows, ip += x_row, fp += w_row) {
        const int8_t *xi = ip, *wi = fp, *wend = fp + cols * w_col;
        do {
            const int32_t vw = load4(wi);
            const int32_t w02 = __sxtb16(vw), w13 = sxtb16_ror8(vw);
            int32_t vx = load4(xi), x02 = __sxtb16(vx), x13 = sxtb16_ror8(vx);
            if (add_offset) {
                x02 = __sadd16(x02, off2);
                x13 = __sadd16(x13, off2);
            }
            a0 = __smlabb(x02, w02, a0);
            a2 = __smlatt(x02, w02, a2);
            a1 = __smlabb(x13, w13, a1);
            a3 = __smlatt(x13, w13, a3);
            vx = load4(xi + dx);
            x02 = __sxtb16(vx);
            x13 = sxtb16_ror8(vx);
            if (add_offset) {
                x02 = __sadd16(x02, off2);
                x13 = __sadd16(x13, off2);
            }
            b0 = __smlabb(x02, w02, b0);
            b2 = __smlatt(x02, w02, b2);
            b1 = __smlabb(x13, w13, b1);
            b3 = __smlatt(x13, w13, b3);
            xi += x_col;
            wi += w_col;
        } while (wi != wend);
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
    acc[4] = b0;
    acc[5] = b1;
    acc[6] = b2;
    acc[7] = b3;
}

#ifndef KWS_DSP_NO_ASM
/*
 * dw_taps4x2 for a whole window with the offset folded and dilation_w == 1 (so the input and
 * the filter both step by in.c bytes per tap), as assembler: 8 accumulators, the two
 * pointers and 4 temporaries take all 14 registers, so the second pixel's distance, the
 * strides and the loop ends come from the stack. 24 instructions per tap of both pixels
 * (GCC's C: about 42, spilling accumulators).
 */
static inline __attribute__((always_inline)) void dw_taps4x2_full(const int8_t *ip, int32_t dx, const int8_t *fp,
                                                                   int32_t rows, int32_t cols, int32_t step,
                                                                   int32_t x_row, int32_t acc[8])
{
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    int32_t b0 = acc[4], b1 = acc[5], b2 = acc[6], b3 = acc[7];
    const int32_t row_len = cols * step; /* bytes of one filter row (and of one input run) */
    /* Pairs read with one LDRD: {step, end of the current filter row} (the second rewritten
     * at each row), {input skip from the end of a run to the next row's, end of the filter}. */
    int32_t step_end[2];
    int32_t skip_end[2];
    int32_t t0, t1, t2, t3;
    step_end[0] = step;
    step_end[1] = (int32_t)(intptr_t)fp;
    skip_end[0] = x_row - row_len;
    skip_end[1] = (int32_t)(intptr_t)(fp + (size_t)rows * row_len);
    __asm__("1:\n\t"
            "ldrd %[t0], %[t1], %[se]\n\t"
            "ldr %[t2], %[rl]\n\t"
            "add %[t1], %[t1], %[t2]\n\t"
            "strd %[t0], %[t1], %[se]\n\t"
            "2:\n\t"
            "ldr %[t1], [%[w]]\n\t"
            "sxtb16 %[t0], %[t1]\n\t"
            "sxtb16 %[t1], %[t1], ror #8\n\t"
            "ldr %[t2], [%[x]]\n\t"
            "sxtb16 %[t3], %[t2], ror #8\n\t"
            "sxtb16 %[t2], %[t2]\n\t"
            "smlabb %[a0], %[t2], %[t0], %[a0]\n\t"
            "smlatt %[a2], %[t2], %[t0], %[a2]\n\t"
            "smlabb %[a1], %[t3], %[t1], %[a1]\n\t"
            "smlatt %[a3], %[t3], %[t1], %[a3]\n\t"
            "ldr %[t2], %[dx]\n\t"
            "ldr %[t2], [%[x], %[t2]]\n\t"
            "sxtb16 %[t3], %[t2], ror #8\n\t"
            "sxtb16 %[t2], %[t2]\n\t"
            "smlabb %[b0], %[t2], %[t0], %[b0]\n\t"
            "smlatt %[b2], %[t2], %[t0], %[b2]\n\t"
            "smlabb %[b1], %[t3], %[t1], %[b1]\n\t"
            "smlatt %[b3], %[t3], %[t1], %[b3]\n\t"
            "ldrd %[t0], %[t1], %[se]\n\t"
            "add %[x], %[x], %[t0]\n\t"
            "add %[w], %[w], %[t0]\n\t"
            "cmp %[w], %[t1]\n\t"
            "bne 2b\n\t"
            "ldrd %[t0], %[t1], %[ke]\n\t"
            "add %[x], %[x], %[t0]\n\t"
            "cmp %[w], %[t1]\n\t"
            "bne 1b\n\t"
            : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [b0] "+r"(b0), [b1] "+r"(b1),
              [b2] "+r"(b2), [b3] "+r"(b3), [x] "+r"(ip), [w] "+r"(fp), [t0] "=&r"(t0), [t1] "=&r"(t1),
              [t2] "=&r"(t2), [t3] "=&r"(t3), [se] "+m"(step_end)
            : [dx] "m"(dx), [rl] "m"(row_len), [ke] "m"(skip_end)
            : "cc", "memory");
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
    acc[4] = b0;
    acc[5] = b1;
    acc[6] = b2;
    acc[7] = b3;
}
#endif

/*
 * depth_multiplier 1, channels in groups of four (outer loop), so offset * sum(w) of a group
 * is computed once: pixels whose window lies inside the input start from it and skip the
 * SADD16s; the others add the offset over their valid taps. Leftover channels (in.c % 4) are
 * done as the reference does them.
 */
static __attribute__((noinline)) void depthwise_m1(const kws_conv_params *p, const int8_t *input,
                                                    const int8_t *filter, const int32_t *bias, int8_t *output)
{
    const kws_dims in = p->input, f = p->filter, out = p->output;
    const int32_t channels = in.c, off = p->input_offset, off2 = lanes2(off);
    const int32_t x_col = p->dilation_w * channels, x_row = p->dilation_h * in.w * channels;
    const int32_t w_row = f.w * channels;
    int32_t c, b, oy, ox;
    for (c = 0; c + 4 <= channels; c += 4) {
        int32_t part[4], full[4], k, t;
        kws_rq rq[4];
        for (k = 0; k < 4; ++k) {
            rq[k] = rq_make(p->multipliers[c + k], p->shifts[c + k], p->output_offset, p->act_min, p->act_max);
            int32_t sum = 0;
            for (t = 0; t < f.h * f.w; ++t) sum += filter[(size_t)t * channels + c + k];
            part[k] = bias != NULL ? bias[c + k] : 0;
            full[k] = wadd(part[k], wmul(off, sum));
        }
        for (b = 0; b < out.n; ++b) {
            int32_t vpair;
            for (oy = 0; oy < out.h; oy += vpair ? 2 : 1) {
                const int32_t y0 = oy * p->stride_h - p->pad_h;
                const int32_t dx = p->stride_h * in.w * channels; /* to the pixel below */
                int32_t fy0, fy1;
                valid_taps(y0, p->dilation_h, f.h, in.h, &fy0, &fy1);
                vpair = 0;
                if (oy + 1 < out.h) { /* pixels (oy, ox) and (oy + 1, ox) together where their rows match */
                    int32_t gy0, gy1;
                    valid_taps(y0 + p->stride_h, p->dilation_h, f.h, in.h, &gy0, &gy1);
                    vpair = gy0 == fy0 && gy1 == fy1;
                }
                for (ox = 0; ox < out.w; ++ox) {
                    const int32_t x0 = ox * p->stride_w - p->pad_w;
                    int32_t fx0, fx1, acc[8];
                    int8_t *o = output + (((size_t)b * out.h + oy) * out.w + ox) * out.c;
                    const int whole = fy0 == 0 && fy1 == f.h;
                    const int32_t *start;
                    const int8_t *ip, *fp;
                    valid_taps(x0, p->dilation_w, f.w, in.w, &fx0, &fx1);
                    start = whole && fx0 == 0 && fx1 == f.w ? full : part;
                    acc[0] = acc[4] = start[0];
                    acc[1] = acc[5] = start[1];
                    acc[2] = acc[6] = start[2];
                    acc[3] = acc[7] = start[3];
                    if (fy0 < fy1 && fx0 < fx1) {
                        ip = input + (((size_t)b * in.h + (y0 + p->dilation_h * fy0)) * in.w +
                                      (x0 + p->dilation_w * fx0)) *
                                         channels + c;
                        fp = filter + ((size_t)fy0 * f.w + fx0) * channels + c;
                        if (vpair) {
#ifndef KWS_DSP_NO_ASM
                            if (start == full && x_col == channels)
                                dw_taps4x2_full(ip, dx, fp, f.h, f.w, channels, x_row, acc);
                            else
#endif
                            if (start == full)
                                dw_taps4x2(ip, dx, fp, f.h, f.w, x_col, channels, x_row, w_row, 0, 0, acc);
                            else
                                dw_taps4x2(ip, dx, fp, fy1 - fy0, fx1 - fx0, x_col, channels, x_row, w_row, off2, 1,
                                           acc);
                        } else {
                            if (start == full)
                                dw_taps4(ip, fp, f.h, f.w, x_col, channels, x_row, w_row, 0, 0, acc);
                            else
                                dw_taps4(ip, fp, fy1 - fy0, fx1 - fx0, x_col, channels, x_row, w_row, off2, 1, acc);
                        }
                    }
                    rq_store(&rq[0], acc[0], &o[c]);
                    rq_store(&rq[1], acc[1], &o[c + 1]);
                    rq_store(&rq[2], acc[2], &o[c + 2]);
                    rq_store(&rq[3], acc[3], &o[c + 3]);
                    if (vpair) {
                        o += (size_t)out.w * out.c;
                        rq_store(&rq[0], acc[4], &o[c]);
                        rq_store(&rq[1], acc[5], &o[c + 1]);
                        rq_store(&rq[2], acc[6], &o[c + 2]);
                        rq_store(&rq[3], acc[7], &o[c + 3]);
                    }
                }
            }
        }
    }
    if (c < channels) { /* leftover channels */
        for (b = 0; b < out.n; ++b) {
            for (oy = 0; oy < out.h; ++oy) {
                const int32_t y0 = oy * p->stride_h - p->pad_h;
                int32_t fy0, fy1;
                valid_taps(y0, p->dilation_h, f.h, in.h, &fy0, &fy1);
                for (ox = 0; ox < out.w; ++ox) {
                    const int32_t x0 = ox * p->stride_w - p->pad_w;
                    int32_t fx0, fx1, cc, fy, fx;
                    int8_t *o = output + (((size_t)b * out.h + oy) * out.w + ox) * out.c;
                    valid_taps(x0, p->dilation_w, f.w, in.w, &fx0, &fx1);
                    for (cc = c; cc < channels; ++cc) {
                        int32_t acc = 0;
                        for (fy = fy0; fy < fy1; ++fy)
                            for (fx = fx0; fx < fx1; ++fx)
                                acc = wadd(acc, filter[((size_t)fy * f.w + fx) * channels + cc] *
                                                    (input[(((size_t)b * in.h + (y0 + p->dilation_h * fy)) * in.w +
                                                            (x0 + p->dilation_w * fx)) * channels + cc] + off));
                        if (bias != NULL) acc = wadd(acc, bias[cc]);
                        o[cc] = requantize(acc, p->multipliers[cc], p->shifts[cc], p->rounding, p->output_offset,
                                           p->act_min, p->act_max);
                    }
                }
            }
        }
    }
}

/*
 * depth_multiplier a multiple of 4: four consecutive output channels read one input channel.
 * Channels in groups of four (outer loop), requantisation constants once per group. Each
 * tap's input is one int8 multiplied into both lanes of the widened filter word
 * (SMLABB/SMLABT). With one input channel and dilation_w 1 (TFLM's micro_speech), the taps of
 * a filter row are consecutive input bytes: one 32-bit load and two SXTB16 (+ two SADD16 for
 * the offset) serve four taps, the top and bottom lanes picked by SMLATB/SMLATT.
 */
static __attribute__((noinline)) void depthwise_broadcast(const kws_conv_params *p, const int8_t *input,
                                                           const int8_t *filter, const int32_t *bias,
                                                           int8_t *output)
{
    const kws_dims in = p->input, f = p->filter, out = p->output;
    const int32_t mult = p->depth_multiplier, channels = out.c, off = p->input_offset, off2 = lanes2(off);
    const int32_t x_col = p->dilation_w * in.c, x_row = p->dilation_h * in.w * in.c, w_row = f.w * channels;
    const int runs = in.c == 1 && p->dilation_w == 1;
    int32_t c, b, oy, ox, k;
    for (c = 0; c + 4 <= channels; c += 4) {
        const int32_t ic = c / mult;
        kws_rq rq[4];
        int32_t start[4];
        for (k = 0; k < 4; ++k) {
            rq[k] = rq_make(p->multipliers[c + k], p->shifts[c + k], p->output_offset, p->act_min, p->act_max);
            start[k] = bias != NULL ? bias[c + k] : 0;
        }
        for (b = 0; b < out.n; ++b) {
            for (oy = 0; oy < out.h; ++oy) {
                const int32_t y0 = oy * p->stride_h - p->pad_h;
                int32_t fy0, fy1;
                valid_taps(y0, p->dilation_h, f.h, in.h, &fy0, &fy1);
                for (ox = 0; ox < out.w; ++ox) {
                    const int32_t x0 = ox * p->stride_w - p->pad_w;
                    int32_t fx0, fx1, fy;
                    int32_t a0 = start[0], a1 = start[1], a2 = start[2], a3 = start[3];
                    int8_t *o = output + (((size_t)b * out.h + oy) * out.w + ox) * out.c;
                    valid_taps(x0, p->dilation_w, f.w, in.w, &fx0, &fx1);
                    if (fy0 < fy1 && fx0 < fx1) {
                        const int8_t *ir = input + (((size_t)b * in.h + (y0 + p->dilation_h * fy0)) * in.w +
                                                    (x0 + p->dilation_w * fx0)) * in.c + ic;
                        const int8_t *wr = filter + ((size_t)fy0 * f.w + fx0) * channels + c;
                        const int32_t n = fx1 - fx0;
                        for (fy = fy0; fy < fy1; ++fy, ir += x_row, wr += w_row) {
                            const int8_t *xi = ir, *wi = wr;
                            int32_t j;
                            if (runs) {
                                for (j = n >> 2; j > 0; --j, xi += 4, wi += 4 * channels) {
                                    const int32_t vx = load4(xi);
                                    const int32_t x02 = __sadd16(__sxtb16(vx), off2);
                                    const int32_t x13 = __sadd16(sxtb16_ror8(vx), off2);
                                    int32_t vw = load4(wi), w02 = __sxtb16(vw), w13 = sxtb16_ror8(vw);
                                    a0 = __smlabb(x02, w02, a0); /* tap 0: bottom of x02 */
                                    a2 = __smlabt(x02, w02, a2);
                                    a1 = __smlabb(x02, w13, a1);
                                    a3 = __smlabt(x02, w13, a3);
                                    vw = load4(wi + channels);
                                    w02 = __sxtb16(vw);
                                    w13 = sxtb16_ror8(vw);
                                    a0 = __smlabb(x13, w02, a0); /* tap 1: bottom of x13 */
                                    a2 = __smlabt(x13, w02, a2);
                                    a1 = __smlabb(x13, w13, a1);
                                    a3 = __smlabt(x13, w13, a3);
                                    vw = load4(wi + 2 * channels);
                                    w02 = __sxtb16(vw);
                                    w13 = sxtb16_ror8(vw);
                                    a0 = __smlatb(x02, w02, a0); /* tap 2: top of x02 */
                                    a2 = __smlatt(x02, w02, a2);
                                    a1 = __smlatb(x02, w13, a1);
                                    a3 = __smlatt(x02, w13, a3);
                                    vw = load4(wi + 3 * channels);
                                    w02 = __sxtb16(vw);
                                    w13 = sxtb16_ror8(vw);
                                    a0 = __smlatb(x13, w02, a0); /* tap 3: top of x13 */
                                    a2 = __smlatt(x13, w02, a2);
                                    a1 = __smlatb(x13, w13, a1);
                                    a3 = __smlatt(x13, w13, a3);
                                }
                                j = n & 3;
                            } else {
                                j = n;
                            }
                            for (; j > 0; --j, xi += x_col, wi += channels) {
                                const int32_t x = *xi + off, vw = load4(wi);
                                const int32_t w02 = __sxtb16(vw), w13 = sxtb16_ror8(vw);
                                a0 = __smlabb(x, w02, a0);
                                a2 = __smlabt(x, w02, a2);
                                a1 = __smlabb(x, w13, a1);
                                a3 = __smlabt(x, w13, a3);
                            }
                        }
                    }
                    rq_store(&rq[0], a0, &o[c]);
                    rq_store(&rq[1], a1, &o[c + 1]);
                    rq_store(&rq[2], a2, &o[c + 2]);
                    rq_store(&rq[3], a3, &o[c + 3]);
                }
            }
        }
    }
}

int kws_depthwise_conv_s8_dsp(const kws_conv_params *p, const int8_t *input, const int8_t *filter,
                              const int32_t *bias, int8_t *output)
{
    if (p == NULL || input == NULL || filter == NULL || output == NULL || !offset_fits(p->input_offset) ||
        p->depth_multiplier <= 0 || p->filter.c != p->input.c * p->depth_multiplier ||
        p->output.c != p->filter.c || (p->depth_multiplier != 1 && (p->depth_multiplier & 3) != 0) ||
        p->rounding != KWS_ROUNDING_DOUBLE || !depthwise_bound_ok(p, filter, bias))
        return kws_depthwise_conv_s8(p, input, filter, bias, output);
    if (p->depth_multiplier == 1)
        depthwise_m1(p, input, filter, bias, output);
    else
        depthwise_broadcast(p, input, filter, bias, output);
    return KWS_OK;
}

/* ------------------------------------------------------------------ AVERAGE_POOL_2D */

int kws_avg_pool_s8_dsp(const kws_pool_params *p, const int8_t *input, int8_t *output)
{
    int32_t b, oy, ox, c, y, x;
    const kws_dims in = p->input, out = p->output;
    /* int16 lane sums hold up to 256 int8 values. */
    if (p == NULL || input == NULL || output == NULL || p->filter_h * p->filter_w > 256)
        return kws_avg_pool_s8(p, input, output);
    for (b = 0; b < out.n; ++b) {
        for (oy = 0; oy < out.h; ++oy) {
            const int32_t y0 = oy * p->stride_h - p->pad_h;
            const int32_t ys = y0 < 0 ? 0 : y0;
            const int32_t ye = y0 + p->filter_h < in.h ? y0 + p->filter_h : in.h;
            for (ox = 0; ox < out.w; ++ox) {
                const int32_t x0 = ox * p->stride_w - p->pad_w;
                const int32_t xs = x0 < 0 ? 0 : x0;
                const int32_t xe = x0 + p->filter_w < in.w ? x0 + p->filter_w : in.w;
                const int32_t count = (ye - ys) * (xe - xs);
                int8_t *o = output + (((size_t)b * out.h + oy) * out.w + ox) * out.c;
                int32_t sums[4];
                if (count <= 0) return KWS_ERROR_ARGUMENT; /* as the reference kernel */
                for (c = 0; c < in.c; c += 4) {
                    const int32_t lanes = in.c - c < 4 ? in.c - c : 4;
                    int32_t k;
                    if (lanes == 4) {
                        int32_t s02 = 0, s13 = 0;
                        for (y = ys; y < ye; ++y) {
                            const int8_t *ip = input + (((size_t)b * in.h + y) * in.w + xs) * in.c + c;
                            for (x = xs; x < xe; ++x, ip += in.c) {
                                const int32_t v = load4(ip);
                                s02 = __sxtab16(s02, v);
                                s13 = sxtab16_ror8(s13, v);
                            }
                        }
                        sums[0] = (int16_t)(s02 & 0xFFFF);
                        sums[1] = (int16_t)(s13 & 0xFFFF);
                        sums[2] = s02 >> 16;
                        sums[3] = s13 >> 16;
                    } else {
                        for (k = 0; k < lanes; ++k) {
                            sums[k] = 0;
                            for (y = ys; y < ye; ++y)
                                for (x = xs; x < xe; ++x)
                                    sums[k] += input[(((size_t)b * in.h + y) * in.w + x) * in.c + c + k];
                        }
                    }
                    for (k = 0; k < lanes; ++k) {
                        const int32_t sum = sums[k];
                        /* C99 division truncates toward zero, as the reference kernel's does. */
                        const int32_t average = sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
                        o[c + k] = (int8_t)(average < p->act_min ? p->act_min
                                                                 : (average > p->act_max ? p->act_max : average));
                    }
                }
            }
        }
    }
    return KWS_OK;
}

/* ------------------------------------------------------------------ FULLY_CONNECTED */

int kws_fully_connected_s8_dsp(const kws_fc_params *p, const int8_t *input, const int8_t *weights,
                               const int32_t *bias, int8_t *output)
{
    int32_t b, u;
    if (p == NULL || input == NULL || weights == NULL || output == NULL || !offset_fits(p->input_offset))
        return kws_fully_connected_s8(p, input, weights, bias, output);
    for (b = 0; b < p->batches; ++b) {
        const int8_t *row = input + (size_t)b * p->depth;
        for (u = 0; u < p->units; u += 2) {
            const int two = u + 1 < p->units;
            const int32_t u1 = two ? u + 1 : u;
            const int8_t *w0 = weights + (size_t)u * p->depth;
            const int8_t *w1 = weights + (size_t)u1 * p->depth;
            const int32_t k0 = p->per_channel ? u : 0, k1 = p->per_channel ? u1 : 0;
            int32_t acc[2];
            acc[0] = bias != NULL ? bias[u] : 0;
            acc[1] = bias != NULL ? bias[u1] : 0;
            mac_1x2(row, w0, w1, p->depth, p->input_offset, acc);
            output[(size_t)b * p->units + u] = requantize(acc[0], p->multipliers[k0], p->shifts[k0], p->rounding,
                                                          p->output_offset, p->act_min, p->act_max);
            if (two)
                output[(size_t)b * p->units + u1] = requantize(acc[1], p->multipliers[k1], p->shifts[k1],
                                                               p->rounding, p->output_offset, p->act_min, p->act_max);
        }
    }
    return KWS_OK;
}

#endif /* KWS_USE_DSP */
