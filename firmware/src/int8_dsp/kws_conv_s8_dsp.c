/*
 * kws_conv_s8_dsp.c - CONV_2D with the DSP extension, integer-for-integer
 * equal to the plain kernel. See kws_int8_ops_dsp.h for what is specialised,
 * kws_int8_dsp_internal.h for how.
 */
#include "kws_int8_dsp_internal.h"

#if !KWS_USE_DSP

/* No DSP extension: the plain kernel. */
int kws_conv_s8_dsp(const kws_conv_params *p, const int8_t *input, const int8_t *filter, const int32_t *bias,
                    int8_t *output)
{
    return kws_conv_s8(p, input, filter, bias, output);
}

#else /* KWS_USE_DSP */

/* ------------------------------------------------------------------ helpers */


/* sum |w| of n int8: USADA8 of (w + 128) against 128, four at a time. */
static int32_t abs_sum(const int8_t *w, int32_t n)
{
    uint32_t s = 0;
    int32_t i;
    for (i = n >> 2; i > 0; --i, w += 4) s = __usada8((uint32_t)load4(w) ^ 0x80808080u, 0x80808080u, s);
    for (i = n & 3; i > 0; --i, ++w) s += (uint32_t)(*w < 0 ? -*w : *w);
    return (int32_t)s;
}


/* kws_dsp_rq_bound_ok for every output channel of a CONV_2D (filters [out.c][K]). */
int kws_dsp_conv_bound_ok(const kws_conv_params *p, const int8_t *filter, const int32_t *bias)
{
    const int32_t per_filter = p->filter.h * p->filter.w * p->filter.c;
    int32_t oc;
    for (oc = 0; oc < p->output.c; ++oc)
        if (!kws_dsp_rq_bound_ok(p, oc, bias != NULL ? bias[oc] : 0,
                                 abs_sum(filter + (size_t)oc * per_filter, per_filter)))
            return 0;
    return 1;
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

#if KWS_USE_MVE
/*
 * mac_2x2 (offset folded) with Helium: 16 int8 of each operand a load, VMLADAVA.S8 adding their
 * 16 products to an int32 accumulator; 8 instructions per 64 MACs. The last n % 16 come in one
 * predicated step (VCTP8): lanes past n load as zeros and add nothing, and no byte past a row is
 * read. (Predicating every step instead costs GCC 12 a dozen more instructions a step.) The same
 * integers: the products are exact, and the int32 sums wrap modulo 2^32 in any order, as the
 * reference's do.
 */
static inline __attribute__((always_inline)) void mac_2x2_mve(const int8_t *xa, int32_t dx, const int8_t *w0,
                                                               int32_t dw, int32_t n, int32_t acc[4])
{
    int32_t a0 = acc[0], a1 = acc[1], b0 = acc[2], b1 = acc[3];
    for (; n >= 16; n -= 16, xa += 16, w0 += 16) {
        const int8x16_t u = vldrbq_s8(w0), v = vldrbq_s8(w0 + dw), x = vldrbq_s8(xa), y = vldrbq_s8(xa + dx);
        a0 = vmladavaq_s8(a0, x, u);
        a1 = vmladavaq_s8(a1, x, v);
        b0 = vmladavaq_s8(b0, y, u);
        b1 = vmladavaq_s8(b1, y, v);
    }
    if (n > 0) {
        const mve_pred16_t lanes = vctp8q((uint32_t)n);
        const int8x16_t u = vldrbq_z_s8(w0, lanes), v = vldrbq_z_s8(w0 + dw, lanes);
        const int8x16_t x = vldrbq_z_s8(xa, lanes), y = vldrbq_z_s8(xa + dx, lanes);
        a0 = vmladavaq_s8(a0, x, u);
        a1 = vmladavaq_s8(a1, x, v);
        b0 = vmladavaq_s8(b0, y, u);
        b1 = vmladavaq_s8(b1, y, v);
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = b0;
    acc[3] = b1;
}
#endif

/* mac_2x2 over `rows` runs of n int8, the runs x_step apart in the input and w_step apart in
 * the filters (the valid rows of a filter window). */
static inline __attribute__((always_inline)) void mac_rows(const int8_t *xa, int32_t dx, const int8_t *w0,
                                                            int32_t dw, int32_t rows, int32_t n, size_t x_step,
                                                            size_t w_step, int32_t offset, const int add_offset,
                                                            int32_t acc[4])
{
    for (; rows > 0; --rows, xa += x_step, w0 += w_step) mac_2x2(xa, dx, w0, dw, n, offset, add_offset, acc);
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

/*
 * Requantise two outputs of one channel (kws_rqf: the channel's three constants loaded once) and
 * store them at oa and ob (the same address where the second is a duplicate): 15 instructions
 * for two outputs, where rq_store takes 34.
 */
static inline __attribute__((always_inline)) void rqf_store2(const kws_rqf *r, int32_t a, int32_t b, int8_t *oa,
                                                              int8_t *ob)
{
#ifndef KWS_DSP_NO_ASM
    int32_t m, c, s, t, u;
    __asm__ volatile("ldrd %[m], %[c], [%[r]]\n\t"
                     "ldr %[s], [%[r], #8]\n\t"
                     "lsl %[u], %[a], #1\n\t"
                     "add %[t], %[c], %[a], asr #31\n\t"
                     "smmlar %[u], %[u], %[m], %[t]\n\t"
                     "asr %[u], %[u], %[s]\n\t"
                     "ssat %[u], #8, %[u]\n\t"
                     "strb %[u], [%[oa]]\n\t"
                     "lsl %[u], %[b], #1\n\t"
                     "add %[t], %[c], %[b], asr #31\n\t"
                     "smmlar %[u], %[u], %[m], %[t]\n\t"
                     "asr %[u], %[u], %[s]\n\t"
                     "ssat %[u], #8, %[u]\n\t"
                     "strb %[u], [%[ob]]\n\t"
                     : [m] "=&r"(m), [c] "=&r"(c), [s] "=&r"(s), [t] "=&r"(t), [u] "=&r"(u)
                     : [r] "r"(r), [a] "r"(a), [b] "r"(b), [oa] "r"(oa), [ob] "r"(ob)
                     : "memory");
#else
    *oa = (int8_t)rqf_value_c(r->multiplier, r->round, r->right, (int32_t)((uint32_t)a << 1));
    *ob = (int8_t)rqf_value_c(r->multiplier, r->round, r->right, (int32_t)((uint32_t)b << 1));
#endif
}

#if !defined(KWS_DSP_NO_ASM) && !KWS_USE_MVE
/*
 * kws_dsp_conv_gemm's hot case, all in assembler: `pairs` pairs of consecutive rows of depth int8 (a
 * multiple of 8) x two filters (w0, w0 + depth), requantised with kws_rqf (f[0], f[1]) and
 * stored at o (row q, channels 0 and 1), o + out_c (row q + 1), ... Per pair: the MAC loop (43
 * instructions per 32 MACs), 30 for the four requantisations, 15 to step; the loop keeps its
 * constants on the stack (all 14 registers are in use). Written out because GCC 12 spills the
 * pointers of the C version around every pair (about 90 instructions besides the MAC loop).
 * Returns the next row pair's input; *o steps to its output.
 */
static __attribute__((noinline)) const int8_t *gemm_pairs(const int8_t *x, int8_t **o, const int8_t *w0, int32_t depth,
                                                           int32_t out_c, int32_t pairs, int32_t start0,
                                                           int32_t start1, const kws_rqf f[2])
{
    const int8_t *const end = w0 + depth, *w;
    const int32_t m0 = f[0].multiplier, c0 = f[0].round, s0 = f[0].right;
    const int32_t m1 = f[1].multiplier, c1 = f[1].round, s1 = f[1].right;
    int8_t *out = *o;
    int32_t a0, a1, b0, b1, t0, t1, t2, t3, t4, t5;
    __asm__ volatile("2:\n\t"
                     "ldr %[w], %[w0]\n\t"
                     "ldr %[a0], %[start0]\n\t"
                     "ldr %[a1], %[start1]\n\t"
                     "mov %[b0], %[a0]\n\t"
                     "mov %[b1], %[a1]\n\t"
                     "1:\n\t" KWS_ASM_MAC4 KWS_ASM_MAC4
                     "ldr %[t0], %[end]\n\t"
                     "cmp %[w], %[t0]\n\t"
                     "bne 1b\n\t"
                     /* requantise (kws_rqf): channel 0 to out[0], out[out_c]; 1 to out[1], out[out_c + 1] */
                     "ldr %[t5], %[out]\n\t"
                     "ldr %[t4], %[outc]\n\t"
                     "ldr %[t0], %[m0]\n\t"
                     "ldr %[t1], %[c0]\n\t"
                     "ldr %[t2], %[s0]\n\t"
                     "lsl %[t3], %[a0], #1\n\t"
                     "add %[a0], %[t1], %[a0], asr #31\n\t"
                     "smmlar %[t3], %[t3], %[t0], %[a0]\n\t"
                     "asr %[t3], %[t3], %[t2]\n\t"
                     "ssat %[t3], #8, %[t3]\n\t"
                     "strb %[t3], [%[t5]]\n\t"
                     "lsl %[t3], %[b0], #1\n\t"
                     "add %[b0], %[t1], %[b0], asr #31\n\t"
                     "smmlar %[t3], %[t3], %[t0], %[b0]\n\t"
                     "asr %[t3], %[t3], %[t2]\n\t"
                     "ssat %[t3], #8, %[t3]\n\t"
                     "strb %[t3], [%[t5], %[t4]]\n\t"
                     "ldr %[t0], %[m1]\n\t"
                     "ldr %[t1], %[c1]\n\t"
                     "ldr %[t2], %[s1]\n\t"
                     "lsl %[t3], %[a1], #1\n\t"
                     "add %[a1], %[t1], %[a1], asr #31\n\t"
                     "smmlar %[t3], %[t3], %[t0], %[a1]\n\t"
                     "asr %[t3], %[t3], %[t2]\n\t"
                     "ssat %[t3], #8, %[t3]\n\t"
                     "strb %[t3], [%[t5], #1]\n\t"
                     "lsl %[t3], %[b1], #1\n\t"
                     "add %[b1], %[t1], %[b1], asr #31\n\t"
                     "smmlar %[t3], %[t3], %[t0], %[b1]\n\t"
                     "asr %[t3], %[t3], %[t2]\n\t"
                     "ssat %[t3], #8, %[t3]\n\t"
                     "add %[t0], %[t5], #1\n\t"
                     "strb %[t3], [%[t0], %[t4]]\n\t"
                     /* the next pair: outputs two rows on, input one row past the loop's end */
                     "add %[t5], %[t5], %[t4], lsl #1\n\t"
                     "str %[t5], %[out]\n\t"
                     "add %[x], %[x], %[dx]\n\t"
                     "ldr %[t0], %[pairs]\n\t"
                     "subs %[t0], %[t0], #1\n\t"
                     "str %[t0], %[pairs]\n\t"
                     "bne 2b\n\t"
                     : [a0] "=&r"(a0), [a1] "=&r"(a1), [b0] "=&r"(b0), [b1] "=&r"(b1), [x] "+r"(x), [w] "=&r"(w),
                       [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3), [t4] "=&r"(t4),
                       [t5] "=&r"(t5), [out] "+m"(out), [pairs] "+m"(pairs)
                     : [dx] "r"(depth), [dw] "r"(depth), [end] "m"(end), [w0] "m"(w0), [start0] "m"(start0),
                       [start1] "m"(start1), [m0] "m"(m0), [c0] "m"(c0), [s0] "m"(s0), [m1] "m"(m1), [c1] "m"(c1),
                       [s1] "m"(s1), [outc] "m"(out_c)
                     : "cc", "memory");
    *o = out;
    return x;
}
#endif

/*
 * The matrix product every fast CONV_2D path ends in: out[q][oc] = requantise(bias[oc] +
 * sum_k w[oc][k] * (x[q][k] + offset)) for `rows` rows of `depth` int8 (consecutive) and
 * filters [out.c][depth]; outputs out.c apart per row. Output channels in pairs (outer loop),
 * so offset * sum(w) of the pair is computed once and starts the accumulators; rows in pairs
 * (inner loop): one run of the assembler loop (43 instructions per 32 MACs), a C tail for
 * depth % 8, and the requantisation of the four outputs. An odd last channel or row is
 * computed with its partner duplicated, and stored twice at the same place.
 * Requantisation: kws_rqf where rqf_layer_ok(p) (rqf_store2; the hot case in gemm_pairs), else
 * rq_store. With Helium (KWS_USE_MVE) every row pair takes mac_2x2_mve, any depth, and the
 * requantisation above (gemm_pairs is not built).
 * Declared in kws_int8_dsp_internal.h for the im2col convolution. The caller checked the DSP kernels'
 * preconditions (conv_bound_ok over these filters, offset_fits, KWS_ROUNDING_DOUBLE).
 */
void kws_dsp_conv_gemm(const kws_conv_params *p, const int8_t *x, int32_t rows, int32_t depth, const int8_t *filter,
                       const int32_t *bias, int8_t *output)
{
    const int32_t out_c = p->output.c, fast = rqf_layer_ok(p);
    int32_t oc;
    for (oc = 0; oc < out_c; oc += 2) {
        const int two_oc = oc + 1 < out_c;
        const int32_t oc1 = two_oc ? oc + 1 : oc, doc = two_oc ? 1 : 0;
        const int8_t *w0 = filter + (size_t)oc * depth;
        const int32_t dw = two_oc ? depth : 0;
        const int32_t start0 = wadd(bias != NULL ? bias[oc] : 0, wmul(p->input_offset, weight_sum(w0, depth)));
        const int32_t start1 = wadd(bias != NULL ? bias[oc1] : 0, wmul(p->input_offset, weight_sum(w0 + dw, depth)));
        kws_rqf f[2];
        kws_rq r0, r1;
        const int8_t *xa = x;
        int8_t *o = output + oc;
        int32_t q = 0;
        if (fast) {
            f[0] = rqf_make(p->multipliers[oc], p->shifts[oc], p->output_offset);
            f[1] = rqf_make(p->multipliers[oc1], p->shifts[oc1], p->output_offset);
#if !defined(KWS_DSP_NO_ASM) && !KWS_USE_MVE
            if (two_oc && depth >= 8 && (depth & 7) == 0 && rows >= 2) {
                xa = gemm_pairs(xa, &o, w0, depth, out_c, rows >> 1, start0, start1, f);
                q = rows & ~1; /* an odd last row below */
            }
#endif
        } else {
            r0 = rq_make(p->multipliers[oc], p->shifts[oc], p->output_offset, p->act_min, p->act_max);
            r1 = rq_make(p->multipliers[oc1], p->shifts[oc1], p->output_offset, p->act_min, p->act_max);
        }
        for (; q < rows; q += 2, xa += 2 * depth, o += 2 * out_c) {
            const int32_t dx = q + 1 < rows ? depth : 0, dpx = q + 1 < rows ? out_c : 0;
            int32_t acc[4], a0, a1, b0, b1;
            acc[0] = acc[2] = start0;
            acc[1] = acc[3] = start1;
#if KWS_USE_MVE
            mac_2x2_mve(xa, dx, w0, dw, depth, acc);
#else
            mac_2x2(xa, dx, w0, dw, depth, 0, 0, acc);
#endif
            a0 = acc[0];
            a1 = acc[1];
            b0 = acc[2];
            b1 = acc[3];
            if (fast) {
                rqf_store2(&f[0], a0, b0, o, o + dpx);
                rqf_store2(&f[1], a1, b1, o + doc, o + doc + dpx);
            } else {
                rq_store(&r0, a0, o);
                rq_store(&r1, a1, o + doc);
                rq_store(&r0, b0, o + dpx);
                rq_store(&r1, b1, o + doc + dpx);
            }
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
        p->rounding != KWS_ROUNDING_DOUBLE || !kws_dsp_conv_bound_ok(p, filter, bias))
        return kws_conv_s8(p, input, filter, bias, output);
    if (p->filter.h == 1 && p->filter.w == 1 && p->pad_h == 0 && p->pad_w == 0 && p->stride_h == 1 &&
        p->stride_w == 1 && p->input.h == p->output.h && p->input.w == p->output.w)
        /* Consecutive pixels: the input is the matrix. */
        kws_dsp_conv_gemm(p, input, p->output.n * p->output.h * p->output.w, p->input.c, filter, bias, output);
    else
        /* Everything else, strided 1x1 included (rare: a loop of its own cost 1.5 KB of flash that
         * DS-CNN never runs; filters with short rows go through kws_conv_im2col_s8_dsp first). */
        conv_general(p, input, filter, bias, output);
    return KWS_OK;
}

#endif /* KWS_USE_DSP */
