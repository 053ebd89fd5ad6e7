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
 *   3. the requantisation runs afterwards over an output column of one channel, with that
 *      channel's constants in registers (SMMULR, a rounding shift in three instructions, SSAT).
 *
 * Preconditions, checked per call (else the general kernel): KWS_ROUNDING_DOUBLE; the
 * accumulator bound of the DSP kernels (|acc| < 2^(30 - left shift), kws_dsp_rq_bound_ok) for
 * every channel; left shifts <= 6. The weights are stored pre-multiplied by 2^(left + 1) (they
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

/* Planes for four channels, one output column of int32 accumulators, and 3 bytes to align. */
int32_t kws_depthwise_3x3_s8_dsp_scratch_size(const kws_conv_params *p)
{
    dw3x3_geometry g;
    if (!dw3x3_shape_ok(p)) return 0;
    g = dw3x3_geometry_of(p);
    return (4 * g.plane_words + 2 * g.steps) * 4 + 3;
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

/* Two int16 in one word: a in the bottom half, b in the top. */
static inline uint32_t pack16(int32_t a, int32_t b) { return ((uint32_t)a & 0xFFFFu) | ((uint32_t)b << 16); }

static int dw3x3_layer_ok(const kws_conv_params *p, const int8_t *filter, const int32_t *bias)
{
    int32_t c;
    if (p->rounding != KWS_ROUNDING_DOUBLE || !offset_fits(p->input_offset) || p->act_min > p->act_max) return 0;
    for (c = 0; c < p->output.c; ++c)
        if (p->shifts[c] > 6) return 0;
    return kws_dsp_depthwise_bound_ok(p, filter, bias);
}

/*
 * Step 1: the planes of channels [c, c + n) of batch b, n <= 4: x + offset at row iy + pad_h,
 * column ix + pad_w; rows and columns no output reads are left out. The zeros around them were
 * written once per call. Four channels come with one load, widened and offset in pairs.
 */
static void dw3x3_fill(const kws_conv_params *p, const dw3x3_geometry *g, const int8_t *input, int32_t b, int32_t c,
                       int32_t n, int16_t *planes)
{
    const kws_dims in = p->input;
    const int32_t off = p->input_offset, off2 = lanes2(off), plane_halves = 2 * g->plane_words;
    int32_t iy, ix, k;
    for (iy = 0; iy < in.h; ++iy) {
        const int32_t row = iy + p->pad_h;
        if (row < 0 || row >= 2 * g->pair_rows) continue;
        for (ix = 0; ix < in.w; ++ix) {
            const int32_t col = ix + p->pad_w;
            const int8_t *x = input + (((size_t)b * in.h + iy) * in.w + ix) * in.c + c;
            int16_t *h = planes + ((size_t)(row >> 1) * g->width + col) * 2 + (row & 1);
            if (col < 0 || col >= g->width) continue;
            if (n == 4) {
                const int32_t v = load4(x);
                const int32_t even = __sadd16(__sxtb16(v), off2), odd = __sadd16(sxtb16_ror8(v), off2);
                h[0] = (int16_t)even;
                h[plane_halves] = (int16_t)odd;
                h[2 * plane_halves] = (int16_t)(even >> 16);
                h[3 * plane_halves] = (int16_t)(odd >> 16);
            } else {
                for (k = 0; k < n; ++k) h[k * plane_halves] = (int16_t)(x[k] + off);
            }
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
 * Step 3: out = clamp(RoundingDivideByPOT(SMMULR(acc, m), right) + offset, lo, hi) over
 * `count` outputs `stride` bytes apart. Two flags fixed per call site, so that the loop has no
 * branch of its own: shifted (right >= 1, the rounding shift; right == 0 leaves h as it is) and
 * whole_range ([lo, hi] is all of int8: SSAT alone clamps).
 */
static inline __attribute__((always_inline)) void dw3x3_requantize_as(const int32_t *acc, int32_t count,
                                                                       int32_t multiplier,
                                                                       int32_t right, const kws_conv_params *p,
                                                                       const int shifted, const int whole_range,
                                                                       int8_t *out, int32_t stride)
{
    const int32_t nudge = shifted ? (int32_t)1 << (right - 1) : 0, offset = p->output_offset;
    const int32_t lo = p->act_min, hi = p->act_max;
    for (; count > 0; --count, ++acc, out += stride) {
        int32_t h = smmulr(*acc, multiplier);
        if (shifted) h = (h + nudge + (h >> 31)) >> right;
        h = __ssat(h + offset, 8);
        if (!whole_range) h = h < lo ? lo : (h > hi ? hi : h);
        *out = (int8_t)h;
    }
}

static void dw3x3_requantize(const int32_t *acc, int32_t count, int32_t multiplier, int32_t right,
                             const kws_conv_params *p, int8_t *out, int32_t stride)
{
    if (p->act_min <= -128 && p->act_max >= 127) {
        if (right > 0)
            dw3x3_requantize_as(acc, count, multiplier, right, p, 1, 1, out, stride);
        else
            dw3x3_requantize_as(acc, count, multiplier, right, p, 0, 1, out, stride);
    } else {
        if (right > 0)
            dw3x3_requantize_as(acc, count, multiplier, right, p, 1, 0, out, stride);
        else
            dw3x3_requantize_as(acc, count, multiplier, right, p, 0, 0, out, stride);
    }
}

int kws_depthwise_3x3_s8_dsp(const kws_conv_params *p, void *scratch, int32_t scratch_size, const int8_t *input,
                             const int8_t *filter, const int32_t *bias, int8_t *output)
{
    dw3x3_geometry g;
    int16_t *planes;
    int32_t *acc;
    int32_t b, c, k, ox;
    if (!dw3x3_shape_ok(p) || scratch == NULL || scratch_size < kws_depthwise_3x3_s8_dsp_scratch_size(p) ||
        input == NULL || filter == NULL || output == NULL || !dw3x3_layer_ok(p, filter, bias))
        return kws_depthwise_conv_s8_dsp(p, input, filter, bias, output);
    g = dw3x3_geometry_of(p);
    planes = (int16_t *)(void *)(((uintptr_t)scratch + 3u) & ~(uintptr_t)3u);
    acc = (int32_t *)(void *)(planes + 8 * g.plane_words);
    memset(planes, 0, (size_t)g.plane_words * 16u);
    for (b = 0; b < p->output.n; ++b) {
        for (c = 0; c < p->output.c; c += 4) {
            const int32_t n = p->output.c - c < 4 ? p->output.c - c : 4;
            dw3x3_fill(p, &g, input, b, c, n, planes);
            for (k = 0; k < n; ++k) {
                const int32_t ch = c + k, channels = p->output.c, shift = p->shifts[ch];
                const int32_t scale = (int32_t)2 << (shift > 0 ? shift : 0), right = shift > 0 ? 0 : -shift;
                const int32_t bias2 = bias != NULL ? wmul(bias[ch], scale) : 0;
                const uint32_t *plane = (const uint32_t *)(const void *)(planes + (size_t)k * 2 * g.plane_words);
                uint32_t w01[3], w12[3];
                int32_t kx;
                for (kx = 0; kx < 3; ++kx) {
                    const int32_t w0 = filter[(0 + kx) * channels + ch] * scale;
                    const int32_t w1 = filter[(3 + kx) * channels + ch] * scale;
                    const int32_t w2 = filter[(6 + kx) * channels + ch] * scale;
                    w01[kx] = pack16(w0, w1);
                    w12[kx] = pack16(w1, w2);
                }
                for (ox = 0; ox < p->output.w; ++ox) {
                    int8_t *out = output + (((size_t)b * p->output.h) * p->output.w + ox) * channels + ch;
                    const int32_t stride = p->output.w * channels;
                    dw3x3_column(plane + ox * p->stride_w, g.width, g.steps, w01, w12, bias2, acc);
                    dw3x3_requantize(acc, p->output.h, p->multipliers[ch], right, p, out, stride);
                }
            }
        }
    }
    return KWS_OK;
}

#endif /* KWS_USE_DSP */
