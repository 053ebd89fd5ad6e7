/*
 * kws_depthwise_conv_s8_dsp.c - DEPTHWISE_CONV_2D with the DSP extension, integer-for-integer
 * equal to the plain kernel. See kws_int8_ops_dsp.h for what is specialised,
 * kws_int8_dsp_internal.h for how.
 */
#include "kws_int8_dsp_internal.h"

#if !KWS_USE_DSP

/* No DSP extension: the plain kernel. */
int kws_depthwise_conv_s8_dsp(const kws_conv_params *p, const int8_t *input, const int8_t *filter,
                              const int32_t *bias, int8_t *output)
{
    return kws_depthwise_conv_s8(p, input, filter, bias, output);
}

#else /* KWS_USE_DSP */

/* See kws_int8_dsp_internal.h. */
int kws_dsp_depthwise_bound_ok(const kws_conv_params *p, const int8_t *filter, const int32_t *bias)
{
    const int32_t taps = p->filter.h * p->filter.w, channels = p->output.c;
    int32_t c, t;
    for (c = 0; c < channels; ++c) {
        int32_t sum = 0;
        for (t = 0; t < taps; ++t) {
            const int32_t w = filter[(size_t)t * channels + c];
            sum += w < 0 ? -w : w;
        }
        if (!kws_dsp_rq_bound_ok(p, c, bias != NULL ? bias[c] : 0, sum)) return 0;
    }
    return 1;
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
        p->rounding != KWS_ROUNDING_DOUBLE || !kws_dsp_depthwise_bound_ok(p, filter, bias))
        return kws_depthwise_conv_s8(p, input, filter, bias, output);
    if (p->depth_multiplier == 1)
        depthwise_m1(p, input, filter, bias, output);
    else
        depthwise_broadcast(p, input, filter, bias, output);
    return KWS_OK;
}

#endif /* KWS_USE_DSP */
