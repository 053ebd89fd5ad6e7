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
 *      channel, padded with the input zero point (so every pixel is a whole window). A plane is
 *      stored in row pairs: word (rp, col) holds rows 2rp and 2rp+1 of column col in its two
 *      halves, so one LDR gives two vertically adjacent taps of one channel, the operand pair
 *      SMLAD wants. The input offset is not added to the copy: with the padding at the zero
 *      point, sum(w * (x + offset)) over the window = sum(w * x) + offset * sum(w) for every
 *      pixel, and offset * sum(w) goes into the bias once per channel;
 *   2. per channel and output column, two output rows 2rp, 2rp+1 take rows 2rp..2rp+3, with the
 *      nine weights as int16 pairs (w0,w1) and (w1,w2) of each filter column:
 *          out 2rp   = SMLAD(P(rp), (w0,w1)) + bottom(P(rp+1)) * w2
 *          out 2rp+1 = top(P(rp)) * w0 + SMLAD(P(rp+1), (w1,w2))
 *      per filter column, and P(rp+1) is the next step's P(rp): three loads and twelve
 *      multiplies for 18 MACs; then both outputs are requantised and stored at once, so no
 *      accumulator goes to memory. On the M4 this loop is assembler (dw3x3_channel_asm): 31
 *      instructions for two outputs, the weights reloaded from the channel's job with LDM/LDRD
 *      each step because 14 registers cannot hold them beside the window, the requantisation
 *      constants and the pointers.
 *   3. the requantisation is kws_rqf's (SMMLAR, the sign term, a shift and SSAT) where the layer
 *      allows it, else SMMULR plus a rounding shift in three instructions and SSAT, and a clamp
 *      where [act_min, act_max] is narrower than int8.
 *
 * Preconditions, checked per call (else the general kernel): KWS_ROUNDING_DOUBLE; the
 * accumulator bound of the DSP kernels (|acc| < 2^(30 - left shift), kws_dsp_rq_bound_ok) for
 * every channel; left shifts <= 6, right shifts <= 21, multipliers >= 0, an int8 output offset
 * and an int8 input zero point. The weights are stored pre-multiplied by 2^(left + 1) (they
 * stay within int16), so the accumulator is already acc << left, doubled, which is what SMMULR
 * needs to give gemmlowp's SRDHM (see rq_store in kws_int8_dsp_internal.h); and
 * RoundingDivideByPOT(h, r) = (h + 2^(r-1) + (h < 0 ? -1 : 0)) >> r for r >= 1 (both round
 * half away from zero: for h >= 0 the remainder must reach 2^(r-1), for h < 0 exceed it). The
 * int32 sums wrap as the reference's do, so moving offset * sum(w) into the bias gives the same
 * accumulator.
 */
#include "kws_int8_dsp_internal.h"

/* Words from one plane row pair to the next where the plane is at most this wide: a constant,
 * so that the assembler steps down a column with one pre-indexed load. Wider planes (more than 6
 * output columns at stride_w 1) are stored at their own width and take the C loop. */
#define DW3X3_ROW 8

/* The layer's plane geometry, from its parameters alone (also used where there is no DSP
 * extension, so that the scratch size is one function on every build). */
typedef struct {
    int32_t pair_rows;   /* row pairs in a plane: ceil(out.h / 2) + 1 */
    int32_t width;       /* columns in a plane: (out.w - 1) * stride_w + 3 */
    int32_t row;         /* words from a row pair to the next: DW3X3_ROW, or width if wider */
    int32_t plane_words; /* pair_rows * row */
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
    g.pair_rows = (p->output.h + 1) / 2 + 1;
    g.width = (p->output.w - 1) * p->stride_w + 3;
    g.row = g.width <= DW3X3_ROW ? DW3X3_ROW : g.width;
    g.plane_words = g.pair_rows * g.row;
    return g;
}

/* Planes for four channels, and 3 bytes to align. */
int32_t kws_depthwise_3x3_s8_dsp_scratch_size(const kws_conv_params *p)
{
    if (!dw3x3_shape_ok(p)) return 0;
    return 4 * dw3x3_geometry_of(p).plane_words * 4 + 3;
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

/*
 * The preconditions (see the top of the file): 0 for a layer this kernel refuses, else 1, or 2
 * where every channel also takes kws_rqf's requantisation (right shift 1 to 21; the whole int8
 * output range). The accumulator bound is kws_dsp_rq_bound_ok's, |bias| + x_max * sum|w| <
 * 2^(30 - left), taken without the weights: with the zero point in int8, |x + offset| <= x_max
 * <= 255, and x_max * sum|w| <= 255 * 9 * 128 < 2^19, so |bias| < 2^(30 - left) - 2^19 implies
 * it (a bias that large, a million times a real layer's, sends the layer to the general kernel).
 * One pass over the channels, a dozen instructions each.
 */
static int dw3x3_layer_ok(const kws_conv_params *p, const int32_t *bias)
{
    const int32_t off = p->input_offset;
    int32_t c, rqf = p->act_min <= -128 && p->act_max >= 127;
    /* The zero point (-input_offset) pads the planes as int8 copies of itself (see dw3x3_fill). */
    if (p->rounding != KWS_ROUNDING_DOUBLE || off < -127 || off > 128 || p->act_min > p->act_max ||
        p->output_offset < -128 || p->output_offset > 127)
        return 0;
    for (c = 0; c < p->output.c; ++c) {
        const int32_t shift = p->shifts[c], left = shift > 0 ? shift : 0;
        const uint32_t b = bias == NULL ? 0u : bias[c] < 0 ? 0u - (uint32_t)bias[c] : (uint32_t)bias[c];
        if (shift > 6 || shift < -21 || p->multipliers[c] < 0 ||
            b >= ((uint32_t)1 << (30 - left)) - ((uint32_t)1 << 19))
            return 0;
        if (shift >= 0) rqf = 0;
    }
    return 1 + rqf;
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
 * `count` (>= 1) plane words of four channels from two input rows: xa, xb four channels of one
 * pixel, step_a, step_b bytes to the next pixel (0 for a row of zero points); w the words of
 * channels 0..3 of one plane column, then the next column's.
 */
static inline void dw3x3_fill4(const int8_t *xa, const int8_t *xb, int32_t step_a, int32_t step_b, uint32_t *w,
                               int32_t count)
{
#ifndef KWS_DSP_NO_ASM
    /* STM stores its registers in ascending order: channel k's word in r4 + k. */
    register uint32_t w0 __asm__("r4"), w1 __asm__("r5"), w2 __asm__("r6"), w3 __asm__("r7");
    uint32_t va, vb;
    __asm__ volatile("1:\n\t"
                     "ldr    %[va], [%[xa]]\n\t"
                     "ldr    %[vb], [%[xb]]\n\t"
                     "add    %[xa], %[xa], %[sa]\n\t"
                     "add    %[xb], %[xb], %[sb]\n\t"
                     "sxtb16 %[w1], %[va]\n\t" /* channels 0, 2 of row a */
                     "sxtb16 %[w3], %[vb]\n\t"
                     "pkhbt  %[w0], %[w1], %[w3], lsl #16\n\t"
                     "pkhtb  %[w2], %[w3], %[w1], asr #16\n\t"
                     "sxtb16 %[va], %[va], ror #8\n\t" /* channels 1, 3 */
                     "sxtb16 %[vb], %[vb], ror #8\n\t"
                     "pkhbt  %[w1], %[va], %[vb], lsl #16\n\t"
                     "pkhtb  %[w3], %[vb], %[va], asr #16\n\t"
                     "subs   %[n], %[n], #1\n\t"
                     "stm    %[w]!, {%[w0], %[w1], %[w2], %[w3]}\n\t"
                     "bne    1b\n\t"
                     : [xa] "+r"(xa), [xb] "+r"(xb), [w] "+r"(w), [n] "+r"(count), [va] "=&r"(va),
                       [vb] "=&r"(vb), [w0] "=&r"(w0), [w1] "=&r"(w1), [w2] "=&r"(w2), [w3] "=&r"(w3)
                     : [sa] "r"(step_a), [sb] "r"(step_b)
                     : "cc", "memory");
#else
    for (; count > 0; --count, xa += step_a, xb += step_b, w += 4) {
        const int32_t va = load4(xa), vb = load4(xb);
        join_rows((uint32_t)__sxtb16(va), (uint32_t)__sxtb16(vb), &w[0], &w[2]);
        join_rows((uint32_t)sxtb16_ror8(va), (uint32_t)sxtb16_ror8(vb), &w[1], &w[3]);
    }
#endif
}

/*
 * Step 1: the planes of channels [c, c + n) of batch b, n <= 4, interleaved: word
 * ((rp * row + col) * 4 + k) is channel c + k's rows 2rp, 2rp + 1 of column col, x at row
 * iy + pad_h, column ix + pad_w; rows and columns no output reads are left out, and the zero
 * points around them were written once per call. A plane word is two rows, so the input is read
 * two rows at a time: four channels of each with one load, widened in pairs (SXTB16), the rows'
 * halves joined per channel (PKHBT/PKHTB), the four channels' words stored with one STM. A row
 * outside the input reads four copies of the zero point instead, with step 0.
 */
static void dw3x3_fill(const kws_conv_params *p, const dw3x3_geometry *g, const int8_t *input, int32_t b, int32_t c,
                       int32_t n, uint32_t *planes)
{
    const kws_dims in = p->input;
    const uint32_t zero4 = ((uint32_t)-p->input_offset & 0xFFu) * 0x01010101u;
    const int32_t ix0 = p->pad_w < 0 ? -p->pad_w : 0;
    const int32_t ix1 = in.w < g->width - p->pad_w ? in.w : g->width - p->pad_w;
    int32_t rp, ix, k;
    if (ix1 <= ix0) return;
    for (rp = 0; rp < g->pair_rows; ++rp) {
        const int32_t ya = 2 * rp - p->pad_h, yb = ya + 1;
        const int a_in = ya >= 0 && ya < in.h, b_in = yb >= 0 && yb < in.h;
        const int8_t *xa = a_in ? input + (((size_t)b * in.h + ya) * in.w + ix0) * in.c + c : (const int8_t *)&zero4;
        const int8_t *xb = b_in ? input + (((size_t)b * in.h + yb) * in.w + ix0) * in.c + c : (const int8_t *)&zero4;
        const int32_t step_a = a_in ? in.c : 0, step_b = b_in ? in.c : 0;
        uint32_t *w = planes + ((size_t)rp * g->row + ix0 + p->pad_w) * 4;
        if (!a_in && !b_in) continue;
        if (n == 4) {
            dw3x3_fill4(xa, xb, step_a, step_b, w, ix1 - ix0);
        } else {
            for (ix = ix0; ix < ix1; ++ix, xa += step_a, xb += step_b, w += 4)
                for (k = 0; k < n; ++k) w[k] = pack16(xa[k], xb[k]);
        }
    }
}

/*
 * Steps 2 and 3 for one channel, all its output columns. The assembler reads the first nine
 * words at fixed offsets (LDM of five, LDRD of two, twice) and walks the columns by the next
 * eight, which it updates; keep the order.
 */
typedef struct {
    uint32_t bias;         /*  0: 2 * (bias + offset * sum(w)) */
    uint32_t w01[3];       /*  4: 2 * (w(0,k), w(1,k)) of filter column k */
    uint32_t w12[3];       /* 16: 2 * (w(1,k), w(2,k)) */
    int32_t multiplier;    /* 28 */
    int32_t round;         /* 32: kws_rqf's round (right >= 1), else unused */
    const uint32_t *plane; /* 36: P(0, first column) of the output column to do next */
    int8_t *out;           /* 40: its output in row 0 */
    int32_t plane_step;    /* 44: bytes from one output column's plane column to the next's */
    int32_t out_step;      /* 48: bytes from one output column to the next (channels) */
    int32_t cols;          /* 52: output columns left */
    int32_t count;         /* 56: right | (out.h / 2 - 1) << 8, the loop's counter above the shift */
    int32_t out_row;       /* 60: bytes from one output row to the next */
    int32_t odd;           /* 64: out.h & 1: a last row alone */
} dw3x3_job;

/*
 * The weights and bias of channels [c, c + n) into jobs[0 .. n): (w(0,k), w(1,k)) and
 * (w(1,k), w(2,k)) per filter column k and 2 * (bias + offset * sum(w)), all doubled (the
 * accumulator is then 2 acc, what SMMULR / SMMLAR want; |2w| <= 256 and |2 sum(w)| <= 2304 stay
 * within int16). Four channels at once, as the planes are made: one load per tap, SXTB16 for
 * channels 0 and 2, with ROR 8 for 1 and 3, SADD16 to double and to sum, PKHBT/PKHTB to pair.
 */
static void dw3x3_weights(const kws_conv_params *p, const int8_t *filter, const int32_t *bias, int32_t c, int32_t n,
                          dw3x3_job *jobs)
{
    int8_t copy[9 * 4];
    const int8_t *f = filter + c;
    int32_t stride = p->output.c, kx, t, k, sum[4];
    uint32_t even = 0, odd = 0; /* 2 sum(w) of channels 0, 2 and 1, 3 */
    if (n < 4) { /* the last channels: a copy, so that no load reads past the filter */
        for (t = 0; t < 9; ++t)
            for (k = 0; k < 4; ++k) copy[t * 4 + k] = k < n ? filter[(size_t)t * stride + c + k] : 0;
        f = copy;
        stride = 4;
    }
    for (kx = 0; kx < 3; ++kx) {
        const int32_t r0 = load4(f + kx * stride), r1 = load4(f + (3 + kx) * stride);
        const int32_t r2 = load4(f + (6 + kx) * stride);
        const uint32_t e0 = (uint32_t)__sadd16(__sxtb16(r0), __sxtb16(r0));
        const uint32_t e1 = (uint32_t)__sadd16(__sxtb16(r1), __sxtb16(r1));
        const uint32_t e2 = (uint32_t)__sadd16(__sxtb16(r2), __sxtb16(r2));
        const uint32_t o0 = (uint32_t)__sadd16(sxtb16_ror8(r0), sxtb16_ror8(r0));
        const uint32_t o1 = (uint32_t)__sadd16(sxtb16_ror8(r1), sxtb16_ror8(r1));
        const uint32_t o2 = (uint32_t)__sadd16(sxtb16_ror8(r2), sxtb16_ror8(r2));
        even = (uint32_t)__sadd16((int32_t)even, __sadd16((int32_t)e0, __sadd16((int32_t)e1, (int32_t)e2)));
        odd = (uint32_t)__sadd16((int32_t)odd, __sadd16((int32_t)o0, __sadd16((int32_t)o1, (int32_t)o2)));
        join_rows(e0, e1, &jobs[0].w01[kx], &jobs[2].w01[kx]);
        join_rows(o0, o1, &jobs[1].w01[kx], &jobs[3].w01[kx]);
        join_rows(e1, e2, &jobs[0].w12[kx], &jobs[2].w12[kx]);
        join_rows(o1, o2, &jobs[1].w12[kx], &jobs[3].w12[kx]);
    }
    sum[0] = (int16_t)even;
    sum[1] = (int16_t)odd;
    sum[2] = (int32_t)even >> 16;
    sum[3] = (int32_t)odd >> 16;
    for (k = 0; k < n; ++k)
        jobs[k].bias = (uint32_t)wadd(bias != NULL ? wmul(bias[c + k], 2) : 0, wmul(p->input_offset, sum[k]));
}

#ifndef KWS_DSP_NO_ASM
/*
 * Layers whose every channel takes kws_rqf's requantisation (right shift 1 to 21, int8's whole
 * output range) and whose planes are at most DW3X3_ROW wide, out.h >= 2. Registers in the
 * two-row loop: r0-r2 the window P(rp, c..c+2) (then P(rp+1, ...), kept for the next step), r3
 * its address, r4 the odd row's accumulator (after the bias it starts from), r9 the even row's,
 * r5-r8 the weights of the current half (then multiplier, round and a temporary), r10 the
 * output, r11 the counter above the right shift (ASR reads the shift's bottom byte only, so one
 * register is both), r12 the job, lr the output row stride. The planes are interleaved (a
 * column 16 bytes, a row pair 16 * DW3X3_ROW = 128). Requantisation per output (see kws_rqf):
 * SMMLAR with round, then the sign term (adding a multiple of 2^32 before SMMLAR's rounding
 * shift is adding it after), ASR, SSAT, STRB.
 */
static __attribute__((noinline)) void dw3x3_channel_asm(dw3x3_job *job)
{
    register dw3x3_job *j __asm__("r12") = job;
    __asm__ volatile(
        "ldr    lr, [r12, #60]\n\t"
        "0:\n\t" /* an output column */
        "ldrd   r3, r10, [r12, #36]\n\t"
        "ldr    r11, [r12, #56]\n\t"
        "ldr    r0, [r3]\n\t"
        "ldr    r1, [r3, #16]\n\t"
        "ldr    r2, [r3, #32]\n\t"
        "1:\n\t" /* output rows 2rp, 2rp + 1 (out.h >= 2: at least once) */
        "ldm    r12, {r4, r5, r6, r7, r8}\n\t" /* bias, (w00,w10), (w01,w11), (w02,w12), (w10,w20) */
        "smlad  r9, r0, r5, r4\n\t"
        "smlatb r4, r0, r5, r4\n\t"
        "smlad  r9, r1, r6, r9\n\t"
        "smlatb r4, r1, r6, r4\n\t"
        "smlad  r9, r2, r7, r9\n\t"
        "smlatb r4, r2, r7, r4\n\t"
        "ldr    r1, [r3, #144]\n\t"
        "ldr    r2, [r3, #160]\n\t"
        "ldr    r0, [r3, #128]!\n\t" /* P(rp + 1, ...): a row pair on */
        "ldrd   r5, r6, [r12, #20]\n\t" /* (w11,w21), (w12,w22) */
        "smlabt r9, r0, r8, r9\n\t"
        "smlad  r4, r0, r8, r4\n\t"
        "smlabt r9, r1, r5, r9\n\t"
        "smlad  r4, r1, r5, r4\n\t"
        "smlabt r9, r2, r6, r9\n\t"
        "smlad  r4, r2, r6, r4\n\t"
        "ldrd   r5, r6, [r12, #28]\n\t" /* multiplier, round */
        "smmlar r7, r9, r5, r6\n\t"
        "add    r9, r7, r9, asr #31\n\t"
        "asr    r9, r9, r11\n\t"
        "ssat   r9, #8, r9\n\t"
        "strb   r9, [r10]\n\t"
        "smmlar r7, r4, r5, r6\n\t"
        "add    r4, r7, r4, asr #31\n\t"
        "asr    r4, r4, r11\n\t"
        "ssat   r4, #8, r4\n\t"
        "strb   r4, [r10, lr]\n\t"
        "add    r10, r10, lr, lsl #1\n\t"
        "subs   r11, r11, #256\n\t"
        "bpl    1b\n\t"
        /* out.h odd: the last row, even half only */
        "ldr    r4, [r12, #64]\n\t"
        "cbz    r4, 3f\n\t"
        "ldm    r12, {r4, r5, r6, r7, r8}\n\t"
        "smlad  r9, r0, r5, r4\n\t"
        "smlad  r9, r1, r6, r9\n\t"
        "smlad  r9, r2, r7, r9\n\t"
        "ldr    r0, [r3, #128]\n\t"
        "ldr    r1, [r3, #144]\n\t"
        "ldr    r2, [r3, #160]\n\t"
        "ldrd   r5, r6, [r12, #20]\n\t"
        "smlabt r9, r0, r8, r9\n\t"
        "smlabt r9, r1, r5, r9\n\t"
        "smlabt r9, r2, r6, r9\n\t"
        "ldrd   r5, r6, [r12, #28]\n\t"
        "smmlar r7, r9, r5, r6\n\t"
        "add    r9, r7, r9, asr #31\n\t"
        "asr    r9, r9, r11\n\t"
        "ssat   r9, #8, r9\n\t"
        "strb   r9, [r10]\n\t"
        "3:\n\t" /* the next output column */
        "ldrd   r3, r10, [r12, #36]\n\t"
        "ldrd   r4, r5, [r12, #44]\n\t"
        "add    r3, r3, r4\n\t"
        "add    r10, r10, r5\n\t"
        "strd   r3, r10, [r12, #36]\n\t"
        "ldr    r4, [r12, #52]\n\t"
        "subs   r4, r4, #1\n\t"
        "str    r4, [r12, #52]\n\t"
        "bne    0b\n\t"
        : "+r"(j)
        :
        : "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11", "lr", "cc", "memory");
}
#endif

/*
 * The same in C, for every layer the kernel takes (the fallback of the assembler: out.h 1, wide
 * planes, left shifts, clamps narrower than int8, builds without assembler): out = clamp(
 * requantised acc + offset, lo, hi), with kws_rqf's SMMLAR form for right >= 1 and SMMULR, the
 * offset and SSAT for right == 0. acc is 2 acc (the doubled weights); << left makes it the
 * 2 (acc << left) that SMMULR wants. Flags at run time: the assembler takes the layers where
 * speed counts, and one copy of this loop keeps the flash small.
 */
static int8_t dw3x3_output(int32_t acc, int32_t left, int32_t multiplier, int32_t right, int32_t round,
                           int32_t offset, int32_t lo, int32_t hi)
{
    int32_t h;
    if (right > 0) /* kws_rqf (left shift 0): the nudge, sign and offset folded into SMMLAR */
        h = __ssat(smmlar(acc, multiplier, (int32_t)((uint32_t)round + (uint32_t)(acc >> 31))) >> right, 8);
    else
        h = __ssat(smmulr((int32_t)((uint32_t)acc << left), multiplier) + offset, 8);
    return (int8_t)(h < lo ? lo : (h > hi ? hi : h));
}

/* Rows 2rp, 2rp + 1 of the three plane columns p0..p2 with filter rows 0, 1 (w = w01):
 * even += both halves, odd += the top one. */
static inline __attribute__((always_inline)) void dw3x3_upper(uint32_t p0, uint32_t p1, uint32_t p2,
                                                               const uint32_t *w, int32_t *even, int32_t *odd)
{
    *even = __smlad(p2, w[2], __smlad(p1, w[1], __smlad(p0, w[0], *even)));
    *odd = __smlatb(p2, w[2], __smlatb(p1, w[1], __smlatb(p0, w[0], *odd)));
}

/* Rows 2rp + 2, 2rp + 3 with filter rows 1, 2 (w = w12): even += bottom * w2, odd += both. */
static inline __attribute__((always_inline)) void dw3x3_lower(uint32_t p0, uint32_t p1, uint32_t p2,
                                                               const uint32_t *w, int32_t *even, int32_t *odd)
{
    *even = __smlabt(p2, w[2], __smlabt(p1, w[1], __smlabt(p0, w[0], *even)));
    *odd = __smlad(p2, w[2], __smlad(p1, w[1], __smlad(p0, w[0], *odd)));
}

static void dw3x3_channel_c(const dw3x3_job *j, int32_t row, int32_t shift, const kws_conv_params *p)
{
    const int32_t bias = (int32_t)j->bias, m = j->multiplier, round = j->round, os = j->out_row;
    const int32_t left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;
    const int32_t offset = p->output_offset, lo = p->act_min, hi = p->act_max, pairs = p->output.h >> 1;
    int32_t ox, i;
    for (ox = 0; ox < j->cols; ++ox) {
        const uint32_t *plane = (const uint32_t *)(const void *)((const uint8_t *)j->plane + ox * j->plane_step);
        int8_t *o = j->out + ox * j->out_step;
        uint32_t p0 = plane[0], p1 = plane[4], p2 = plane[8];
        int32_t even, odd;
        for (i = pairs; i > 0; --i, o += 2 * os) {
            even = odd = bias;
            dw3x3_upper(p0, p1, p2, j->w01, &even, &odd);
            plane += 4 * row;
            p0 = plane[0];
            p1 = plane[4];
            p2 = plane[8];
            dw3x3_lower(p0, p1, p2, j->w12, &even, &odd);
            o[0] = dw3x3_output(even, left, m, right, round, offset, lo, hi);
            o[os] = dw3x3_output(odd, left, m, right, round, offset, lo, hi);
        }
        if (j->odd) { /* the last row alone: odd is computed and dropped */
            even = odd = bias;
            dw3x3_upper(p0, p1, p2, j->w01, &even, &odd);
            plane += 4 * row;
            dw3x3_lower(plane[0], plane[4], plane[8], j->w12, &even, &odd);
            o[0] = dw3x3_output(even, left, m, right, round, offset, lo, hi);
        }
    }
}

int kws_depthwise_3x3_s8_dsp(const kws_conv_params *p, void *scratch, int32_t scratch_size, const int8_t *input,
                             const int8_t *filter, const int32_t *bias, int8_t *output)
{
    dw3x3_geometry g;
    dw3x3_job jobs[4];
    uint32_t *planes, zero2;
    int32_t b, c, k, i, ok;
    if (!dw3x3_shape_ok(p) || scratch == NULL || scratch_size < kws_depthwise_3x3_s8_dsp_scratch_size(p) ||
        input == NULL || filter == NULL || output == NULL || (ok = dw3x3_layer_ok(p, bias)) == 0)
        return kws_depthwise_conv_s8_dsp(p, input, filter, bias, output);
    g = dw3x3_geometry_of(p);
#ifndef KWS_DSP_NO_ASM
    const int use_asm = g.row == DW3X3_ROW && ok == 2 && p->output.h >= 2;
#else
    (void)ok;
#endif
    planes = (uint32_t *)(void *)(((uintptr_t)scratch + 3u) & ~(uintptr_t)3u);
    zero2 = pack16(-p->input_offset, -p->input_offset);
    for (i = 0; i < 4 * g.plane_words; ++i) planes[i] = zero2;
    for (k = 0; k < 4; ++k) {
        jobs[k].plane_step = 16 * p->stride_w;
        jobs[k].out_step = p->output.c;
        jobs[k].out_row = p->output.w * p->output.c;
        jobs[k].odd = p->output.h & 1;
    }
    for (b = 0; b < p->output.n; ++b) {
        int8_t *out = output + (size_t)b * p->output.h * p->output.w * p->output.c;
        for (c = 0; c < p->output.c; c += 4) {
            const int32_t n = p->output.c - c < 4 ? p->output.c - c : 4;
            dw3x3_fill(p, &g, input, b, c, n, planes);
            dw3x3_weights(p, filter, bias, c, n, jobs);
            for (k = 0; k < n; ++k) {
                dw3x3_job *job = &jobs[k];
                const int32_t shift = p->shifts[c + k], right = shift > 0 ? 0 : -shift;
                job->multiplier = p->multipliers[c + k];
                job->round = right > 0 ? rqf_make(job->multiplier, -right, p->output_offset).round : 0;
                job->plane = planes + k;
                job->out = out + c + k;
                job->cols = p->output.w;
                job->count = (int32_t)((uint32_t)right | ((uint32_t)((p->output.h >> 1) - 1) << 8));
#ifndef KWS_DSP_NO_ASM
                if (use_asm) {
                    dw3x3_channel_asm(job);
                    continue;
                }
#endif
                dw3x3_channel_c(job, g.row, shift, p);
            }
        }
    }
    return KWS_OK;
}

#endif /* KWS_USE_DSP */
