/*
 * kws_depthwise_3x3_s8_dsp.c - DEPTHWISE_CONV_2D 3x3, depth multiplier 1, stride_h 1 (DS-CNN's
 * depthwise layers) with the DSP extension and caller-owned scratch; integer-for-integer equal to
 * the plain kernel. Every other shape, and any layer outside the preconditions below, goes to
 * kws_depthwise_conv_s8_dsp (which itself falls back to the plain kernel).
 *
 * Why a kernel of its own: the NHWC kernel reads four channels per load and spends one SMLAxy
 * per MAC, widens every input once per tap it meets (nine times), treats the 60 % of DS-CNN's
 * 25x5 pixels that touch the padding on a slower path, and requantises between taps. Here:
 *
 *   1. per group of up to four channels, the input is copied once into one int16 plane per
 *      channel, x + input offset, with the padding as zeros (so every pixel is a whole window
 *      and the offset needs no folding). A plane is stored in row pairs: word (rp, col) holds
 *      rows 2rp and 2rp+1 of column col in its two halves, so one LDR gives two vertically
 *      adjacent taps of one channel, the operand pair SMLAD wants;
 *   2. per channel, the nine weights sit in six registers as int16 pairs, (w0,w1) and (w1,w2) of
 *      each filter column. Two output rows 2rp, 2rp+1 of an output column take rows 2rp..2rp+3:
 *          out 2rp   = SMLAD(P(rp), (w0,w1)) + bottom(P(rp+1)) * w2
 *          out 2rp+1 = top(P(rp)) * w0 + SMLAD(P(rp+1), (w1,w2))
 *      per filter column, and P(rp+1) is the next step's P(rp): three loads and twelve
 *      multiplies for 18 MACs, the accumulators stored as int32;
 *   3. the requantisation runs afterwards over all outputs of one channel, with that channel's
 *      constants in registers (SMMULR, then a rounding shift in three instructions and SSAT; or,
 *      for right shifts of 1 to 21, kws_rqf's SMMLAR, shift and SSAT).
 *
 * Preconditions, checked per call (else the general kernel): KWS_ROUNDING_DOUBLE; the
 * accumulator bound of the DSP kernels (|acc| < 2^(30 - left shift), kws_dsp_rq_bound_ok) for
 * every channel; left shifts <= 6, right shifts <= 21, multipliers >= 0, an int8 output offset.
 * The weights are stored pre-multiplied by 2^(left + 1) (they
 * stay within int16), so the accumulator is already acc << left, doubled, which is what SMMULR
 * needs to give gemmlowp's SRDHM (see rq_store in kws_int8_dsp_internal.h); and
 * RoundingDivideByPOT(h, r) = (h + 2^(r-1) + (h < 0 ? -1 : 0)) >> r for r >= 1 (both round
 * half away from zero: for h >= 0 the remainder must reach 2^(r-1), for h < 0 exceed it).
 */
#include "kws_int8_dsp_internal.h"

/* The layer's plane geometry, from its parameters alone (also used where there is no DSP
 * extension, so that the scratch size is one function on every build). */
typedef struct {
    int32_t steps;       /* output row pairs: ceil(out.h / 2) */
    int32_t pair_rows;   /* row pairs in a plane: steps + 1 */
    int32_t width;       /* columns in a plane: (out.w - 1) * stride_w + 3 */
    int32_t plane_words; /* pair_rows * width */
} dw3x3_geometry;

static int dw3x3_shape_ok(const kws_conv_params *p)
{
    return p != NULL && p->filter.h == 3 && p->filter.w == 3 && p->depth_multiplier == 1 &&
           p->input.c == p->output.c && p->filter.c == p->output.c && p->stride_h == 1 && p->stride_w >= 1 &&
           p->dilation_h == 1 && p->dilation_w == 1 && p->output.h > 0 && p->output.w > 0 && p->output.c > 0 &&
           p->output.n > 0;
}

static dw3x3_geometry dw3x3_geometry_of(const kws_conv_params *p)
{
    dw3x3_geometry g;
    g.steps = (p->output.h + 1) / 2;
    g.pair_rows = g.steps + 1;
    g.width = (p->output.w - 1) * p->stride_w + 3;
    g.plane_words = g.pair_rows * g.width;
    return g;
}

/* Planes for four channels, int32 accumulators of one channel, and 3 bytes to align. */
int32_t kws_depthwise_3x3_s8_dsp_scratch_size(const kws_conv_params *p)
{
    dw3x3_geometry g;
    if (!dw3x3_shape_ok(p)) return 0;
    g = dw3x3_geometry_of(p);
    return (4 * g.plane_words + 2 * g.steps * p->output.w) * 4 + 3;
}

#if !KWS_USE_DSP

int kws_depthwise_3x3_s8_dsp(const kws_conv_params *p, void *scratch, int32_t scratch_size, const int8_t *input,
                             const int8_t *filter, const int32_t *bias, int8_t *output)
{
    (void)scratch;
    (void)scratch_size;
    return kws_depthwise_conv_s8_dsp(p, input, filter, bias, output);
}

#else /* KWS_USE_DSP */

/* The rounded high word of a * b: one instruction ACLE lacks, in C where the build asks for no
 * assembler. */
static inline int32_t smmulr(int32_t a, int32_t b)
{
#ifndef KWS_DSP_NO_ASM
    int32_t r;
    __asm__("smmulr %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
    return r;
#else
    return (int32_t)(((int64_t)a * b + ((int64_t)1 << 31)) >> 32);
#endif
}

/* ra + the rounded high word of a * b (SMMLAR), for kws_rqf's requantisation. */
static inline int32_t smmlar(int32_t a, int32_t b, int32_t ra)
{
#ifndef KWS_DSP_NO_ASM
    int32_t r;
    __asm__("smmlar %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(ra));
    return r;
#else
    return (int32_t)(((int64_t)ra * 4294967296LL + (int64_t)a * b + 2147483648LL) >> 32);
#endif
}

/* Two int16 in one word: a in the bottom half, b in the top. */
static inline uint32_t pack16(int32_t a, int32_t b) { return ((uint32_t)a & 0xFFFFu) | ((uint32_t)b << 16); }

static int dw3x3_layer_ok(const kws_conv_params *p, const int8_t *filter, const int32_t *bias)
{
    int32_t c;
    if (p->rounding != KWS_ROUNDING_DOUBLE || !offset_fits(p->input_offset) || p->act_min > p->act_max ||
        p->output_offset < -128 || p->output_offset > 127)
        return 0;
    for (c = 0; c < p->output.c; ++c)
        if (p->shifts[c] > 6 || p->shifts[c] < -21 || p->multipliers[c] < 0) return 0;
    return kws_dsp_depthwise_bound_ok(p, filter, bias);
}

/* Two rows' lanes (a = (a0, a1), b = (b0, b1), int16) to one word per lane: (a0, b0), (a1, b1).
 * PKHBT/PKHTB; GCC writes each as three instructions from the C. */
static inline void join_rows(uint32_t a, uint32_t b, uint32_t *lane0, uint32_t *lane1)
{
#ifndef KWS_DSP_NO_ASM
    uint32_t r0, r1;
    __asm__("pkhbt %0, %2, %3, lsl #16\n\t"
            "pkhtb %1, %3, %2, asr #16"
            : "=&r"(r0), "=r"(r1)
            : "r"(a), "r"(b));
    *lane0 = r0;
    *lane1 = r1;
#else
    *lane0 = (a & 0xFFFFu) | (b << 16);
    *lane1 = (b & 0xFFFF0000u) | (a >> 16);
#endif
}

/*
 * Step 1: the planes of channels [c, c + n) of batch b, n <= 4: x + offset at row iy + pad_h,
 * column ix + pad_w; rows and columns no output reads are left out, and the zeros around them
 * were written once per call. A plane word is two rows, so the input is read two rows at a time:
 * four channels of each with one load, widened and offset in pairs (SXTB16, SADD16), and the
 * rows' halves joined per channel (PKHBT/PKHTB): one word store per channel and row pair. A row
 * outside the input reads four copies of the zero point (x + offset = 0) instead, with step 0.
 */
static void dw3x3_fill(const kws_conv_params *p, const dw3x3_geometry *g, const int8_t *input, int32_t b, int32_t c,
                       int32_t n, uint32_t *planes)
{
    const kws_dims in = p->input;
    const int32_t off = p->input_offset, off2 = lanes2(off), words = g->plane_words;
    const uint32_t zero4 = ((uint32_t)-off & 0xFFu) * 0x01010101u;
    const int32_t ix0 = p->pad_w < 0 ? -p->pad_w : 0;
    const int32_t ix1 = in.w < g->width - p->pad_w ? in.w : g->width - p->pad_w;
    int32_t rp, ix, k;
    for (rp = 0; rp < g->pair_rows; ++rp) {
        const int32_t ya = 2 * rp - p->pad_h, yb = ya + 1;
        const int a_in = ya >= 0 && ya < in.h, b_in = yb >= 0 && yb < in.h;
        const int8_t *xa = a_in ? input + (((size_t)b * in.h + ya) * in.w + ix0) * in.c + c : (const int8_t *)&zero4;
        const int8_t *xb = b_in ? input + (((size_t)b * in.h + yb) * in.w + ix0) * in.c + c : (const int8_t *)&zero4;
        const int32_t step_a = a_in ? in.c : 0, step_b = b_in ? in.c : 0;
        uint32_t *w = planes + (size_t)rp * g->width + ix0 + p->pad_w;
        if (!a_in && !b_in) continue;
        if (n == 4) {
            for (ix = ix0; ix < ix1; ++ix, xa += step_a, xb += step_b, ++w) {
                const int32_t va = load4(xa), vb = load4(xb);
                const uint32_t ea = (uint32_t)__sadd16(__sxtb16(va), off2), eb = (uint32_t)__sadd16(__sxtb16(vb), off2);
                const uint32_t oa = (uint32_t)__sadd16(sxtb16_ror8(va), off2);
                const uint32_t ob = (uint32_t)__sadd16(sxtb16_ror8(vb), off2);
                join_rows(ea, eb, &w[0], &w[2 * words]);
                join_rows(oa, ob, &w[words], &w[3 * words]);
            }
        } else {
            for (ix = ix0; ix < ix1; ++ix, xa += step_a, xb += step_b, ++w)
                for (k = 0; k < n; ++k)
                    w[k * words] = ((uint32_t)(xa[k] + off) & 0xFFFFu) | ((uint32_t)(xb[k] + off) << 16);
        }
    }
}

/*
 * Step 2: accumulators of output column ox of one channel (rows 0 .. 2 * steps - 1; an odd
 * out.h leaves the last one unused), starting from the bias, all times 2^(left + 1) (the bias
 * given scaled, the weights scaled). w01[k] = (w(0,k), w(1,k)), w12[k] = (w(1,k), w(2,k)).
 */
static inline __attribute__((always_inline)) void dw3x3_column(const uint32_t *plane, int32_t width,
                                                                int32_t steps, const uint32_t w01[3],
                                                                const uint32_t w12[3], int32_t bias, int32_t *acc)
{
    const uint32_t a01 = w01[0], b01 = w01[1], c01 = w01[2], a12 = w12[0], b12 = w12[1], c12 = w12[2];
    uint32_t p0 = plane[0], p1 = plane[1], p2 = plane[2];
    for (; steps > 0; --steps, acc += 2) {
        int32_t even = __smlad(p0, a01, bias), odd = __smlatb(p0, a01, bias);
        even = __smlad(p1, b01, even);
        odd = __smlatb(p1, b01, odd);
        even = __smlad(p2, c01, even);
        odd = __smlatb(p2, c01, odd);
        plane += width;
        p0 = plane[0];
        p1 = plane[1];
        p2 = plane[2];
        even = __smlabt(p0, a12, even);
        odd = __smlad(p0, a12, odd);
        even = __smlabt(p1, b12, even);
        odd = __smlad(p1, b12, odd);
        even = __smlabt(p2, c12, even);
        odd = __smlad(p2, c12, odd);
        acc[0] = even;
        acc[1] = odd;
    }
}

/*
 * Step 3: out = clamp(RoundingDivideByPOT(SMMULR(acc, m), right) + offset, lo, hi) for every
 * output of one channel: the accumulators column after column (2 * steps each), the outputs
 * `stride` bytes apart down a column, `next` bytes from one column's top to the next. Two outputs
 * per loop (one LDRD). Two flags fixed per call site, so that the loop has no branch of its own:
 * shifted (right >= 1, the rounding shift; right == 0 leaves h as it is) and whole_range
 * ([lo, hi] is all of int8: SSAT alone clamps).
 */
static inline __attribute__((always_inline)) int8_t dw3x3_output(int32_t acc, int32_t multiplier, int32_t right,
                                                                  int32_t round, int32_t offset, int32_t lo,
                                                                  int32_t hi, const int shifted,
                                                                  const int whole_range)
{
    int32_t h;
    if (shifted) /* kws_rqf (left shift 0): the nudge, sign and offset folded into SMMLAR */
        h = __ssat(smmlar(acc, multiplier, (int32_t)((uint32_t)round + (uint32_t)(acc >> 31))) >> right, 8);
    else
        h = __ssat(smmulr(acc, multiplier) + offset, 8);
    if (!whole_range) h = h < lo ? lo : (h > hi ? hi : h);
    return (int8_t)h;
}

static inline __attribute__((always_inline)) void dw3x3_requantize_as(const int32_t *acc, const dw3x3_geometry *g,
                                                                       int32_t multiplier, int32_t right,
                                                                       const kws_conv_params *p,
                                                                       const int shifted, const int whole_range,
                                                                       int8_t *out, int32_t stride, int32_t next)
{
    const int32_t offset = p->output_offset, round = shifted ? rqf_make(multiplier, -right, offset).round : 0;
    const int32_t lo = p->act_min, hi = p->act_max, pairs = p->output.h >> 1;
    int32_t ox, i;
    for (ox = 0; ox < p->output.w; ++ox, out += next) {
        const int32_t *a = acc + (size_t)ox * 2 * g->steps;
        int8_t *o = out;
        for (i = pairs; i > 0; --i, a += 2, o += 2 * stride) {
            const int32_t a0 = a[0], a1 = a[1];
            o[0] = dw3x3_output(a0, multiplier, right, round, offset, lo, hi, shifted, whole_range);
            o[stride] = dw3x3_output(a1, multiplier, right, round, offset, lo, hi, shifted, whole_range);
        }
        if (p->output.h & 1) *o = dw3x3_output(a[0], multiplier, right, round, offset, lo, hi, shifted, whole_range);
    }
}

static void dw3x3_requantize(const int32_t *acc, const dw3x3_geometry *g, int32_t multiplier, int32_t right,
                             const kws_conv_params *p, int8_t *out, int32_t stride, int32_t next)
{
    if (p->act_min <= -128 && p->act_max >= 127) {
        if (right > 0)
            dw3x3_requantize_as(acc, g, multiplier, right, p, 1, 1, out, stride, next);
        else
            dw3x3_requantize_as(acc, g, multiplier, right, p, 0, 1, out, stride, next);
    } else {
        if (right > 0)
            dw3x3_requantize_as(acc, g, multiplier, right, p, 1, 0, out, stride, next);
        else
            dw3x3_requantize_as(acc, g, multiplier, right, p, 0, 0, out, stride, next);
    }
}

int kws_depthwise_3x3_s8_dsp(const kws_conv_params *p, void *scratch, int32_t scratch_size, const int8_t *input,
                             const int8_t *filter, const int32_t *bias, int8_t *output)
{
    dw3x3_geometry g;
    uint32_t *planes;
    int32_t *acc;
    int32_t b, c, k, ox;
    if (!dw3x3_shape_ok(p) || scratch == NULL || scratch_size < kws_depthwise_3x3_s8_dsp_scratch_size(p) ||
        input == NULL || filter == NULL || output == NULL || !dw3x3_layer_ok(p, filter, bias))
        return kws_depthwise_conv_s8_dsp(p, input, filter, bias, output);
    g = dw3x3_geometry_of(p);
    planes = (uint32_t *)(void *)(((uintptr_t)scratch + 3u) & ~(uintptr_t)3u);
    acc = (int32_t *)(void *)(planes + 4 * g.plane_words);
    memset(planes, 0, (size_t)g.plane_words * 16u);
    for (b = 0; b < p->output.n; ++b) {
        for (c = 0; c < p->output.c; c += 4) {
            const int32_t n = p->output.c - c < 4 ? p->output.c - c : 4;
            dw3x3_fill(p, &g, input, b, c, n, planes);
            for (k = 0; k < n; ++k) {
                const int32_t ch = c + k, channels = p->output.c, shift = p->shifts[ch];
                const int32_t scale = (int32_t)2 << (shift > 0 ? shift : 0), right = shift > 0 ? 0 : -shift;
                const int32_t bias2 = bias != NULL ? wmul(bias[ch], scale) : 0;
                const uint32_t *plane = planes + (size_t)k * g.plane_words;
                uint32_t w01[3], w12[3];
                int32_t kx;
                for (kx = 0; kx < 3; ++kx) {
                    const int32_t w0 = filter[(0 + kx) * channels + ch] * scale;
                    const int32_t w1 = filter[(3 + kx) * channels + ch] * scale;
                    const int32_t w2 = filter[(6 + kx) * channels + ch] * scale;
                    w01[kx] = pack16(w0, w1);
                    w12[kx] = pack16(w1, w2);
                }
                for (ox = 0; ox < p->output.w; ++ox)
                    dw3x3_column(plane + ox * p->stride_w, g.width, g.steps, w01, w12, bias2,
                                 acc + (size_t)ox * 2 * g.steps);
                dw3x3_requantize(acc, &g, p->multipliers[ch], right, p,
                                 output + (size_t)b * p->output.h * p->output.w * channels + ch,
                                 p->output.w * channels, channels);
            }
        }
    }
    return KWS_OK;
}

#endif /* KWS_USE_DSP */
