/*
 * kws_int8_ops.c - plain-C99 reference int8 kernels equal to LiteRT's BUILTIN_REF kernels.
 * See kws_int8_ops.h for the conventions.
 */
#include "kws_int8_ops.h"

#include <stddef.h>

#define KWS_INT32_MIN ((int32_t)(-2147483647 - 1))
#define KWS_INT32_MAX ((int32_t)2147483647)

static int32_t clamp32(int32_t x, int32_t lo, int32_t hi) { return x < lo ? lo : (x > hi ? hi : x); }

/* Two's-complement wrapping add/sub, as the reference kernels' int32 arithmetic does. */
static int32_t add32(int32_t a, int32_t b) { return (int32_t)((uint32_t)a + (uint32_t)b); }
static int32_t sub32(int32_t a, int32_t b) { return (int32_t)((uint32_t)a - (uint32_t)b); }

int32_t kws_multiply_by_quantized_multiplier(int32_t x, int32_t multiplier, int32_t shift)
{
    const int total_shift = 31 - shift; /* 1..62 for shift in [-31, 30] */
    const int64_t round = (int64_t)1 << (total_shift - 1);
    const int64_t result = ((int64_t)x * (int64_t)multiplier + round) >> total_shift;
    return (int32_t)result;
}

static int32_t srdhm(int32_t a, int32_t b);
static int32_t rounding_divide_by_pot(int32_t x, int exponent);

int32_t kws_multiply_by_quantized_multiplier_double(int32_t x, int32_t multiplier, int32_t shift)
{
    const int left_shift = shift > 0 ? shift : 0;
    const int right_shift = shift > 0 ? 0 : -shift;
    /* x * 2^left_shift wraps in int32, as the reference kernels' int32 product does. */
    return rounding_divide_by_pot(srdhm((int32_t)((uint32_t)x << left_shift), multiplier), right_shift);
}

int32_t kws_output_size(kws_padding padding, int32_t in, int32_t filter, int32_t stride, int32_t dilation)
{
    const int32_t effective = (filter - 1) * dilation + 1;
    if (stride <= 0) return 0;
    if (padding == KWS_PADDING_SAME) return (in + stride - 1) / stride;
    return (in - effective + stride) / stride;
}

int32_t kws_leading_padding(int32_t in, int32_t out, int32_t filter, int32_t stride, int32_t dilation)
{
    const int32_t effective = (filter - 1) * dilation + 1;
    const int32_t total = (out - 1) * stride + effective - in;
    return total > 0 ? total / 2 : 0;
}

static int fill_conv(kws_conv_params *p, kws_dims input, kws_dims filter, int32_t out_c, int32_t depth_multiplier,
                     int32_t stride_h, int32_t stride_w, int32_t dilation_h, int32_t dilation_w, kws_padding padding,
                     int32_t input_zero_point, int32_t output_zero_point, int32_t act_min, int32_t act_max,
                     const int32_t *multipliers, const int32_t *shifts)
{
    if (p == NULL || stride_h <= 0 || stride_w <= 0 || dilation_h <= 0 || dilation_w <= 0 || multipliers == NULL ||
        shifts == NULL || act_min > act_max)
        return KWS_ERROR_ARGUMENT;
    p->input = input;
    p->filter = filter;
    p->output.n = input.n;
    p->output.h = kws_output_size(padding, input.h, filter.h, stride_h, dilation_h);
    p->output.w = kws_output_size(padding, input.w, filter.w, stride_w, dilation_w);
    p->output.c = out_c;
    if (p->output.h <= 0 || p->output.w <= 0) return KWS_ERROR_ARGUMENT;
    p->stride_h = stride_h;
    p->stride_w = stride_w;
    p->dilation_h = dilation_h;
    p->dilation_w = dilation_w;
    p->pad_h = padding == KWS_PADDING_SAME
                   ? kws_leading_padding(input.h, p->output.h, filter.h, stride_h, dilation_h) : 0;
    p->pad_w = padding == KWS_PADDING_SAME
                   ? kws_leading_padding(input.w, p->output.w, filter.w, stride_w, dilation_w) : 0;
    p->depth_multiplier = depth_multiplier;
    p->input_offset = -input_zero_point;
    p->output_offset = output_zero_point;
    p->act_min = act_min;
    p->act_max = act_max;
    p->multipliers = multipliers;
    p->shifts = shifts;
    p->rounding = KWS_ROUNDING_DOUBLE;
    return KWS_OK;
}

int kws_conv_init(kws_conv_params *p, kws_dims input, kws_dims filter, int32_t stride_h, int32_t stride_w,
                  int32_t dilation_h, int32_t dilation_w, kws_padding padding, int32_t input_zero_point,
                  int32_t output_zero_point, int32_t act_min, int32_t act_max, const int32_t *multipliers,
                  const int32_t *shifts)
{
    if (filter.c != input.c) return KWS_ERROR_ARGUMENT;
    return fill_conv(p, input, filter, filter.n, 1, stride_h, stride_w, dilation_h, dilation_w, padding,
                     input_zero_point, output_zero_point, act_min, act_max, multipliers, shifts);
}

int kws_depthwise_conv_init(kws_conv_params *p, kws_dims input, kws_dims filter, int32_t depth_multiplier,
                            int32_t stride_h, int32_t stride_w, int32_t dilation_h, int32_t dilation_w,
                            kws_padding padding, int32_t input_zero_point, int32_t output_zero_point,
                            int32_t act_min, int32_t act_max, const int32_t *multipliers, const int32_t *shifts)
{
    if (depth_multiplier <= 0 || filter.n != 1 || filter.c != input.c * depth_multiplier) return KWS_ERROR_ARGUMENT;
    return fill_conv(p, input, filter, filter.c, depth_multiplier, stride_h, stride_w, dilation_h, dilation_w,
                     padding, input_zero_point, output_zero_point, act_min, act_max, multipliers, shifts);
}

int kws_avg_pool_init(kws_pool_params *p, kws_dims input, int32_t filter_h, int32_t filter_w, int32_t stride_h,
                      int32_t stride_w, kws_padding padding, int32_t act_min, int32_t act_max)
{
    if (p == NULL || filter_h <= 0 || filter_w <= 0 || stride_h <= 0 || stride_w <= 0 || act_min > act_max)
        return KWS_ERROR_ARGUMENT;
    p->input = input;
    p->output.n = input.n;
    p->output.h = kws_output_size(padding, input.h, filter_h, stride_h, 1);
    p->output.w = kws_output_size(padding, input.w, filter_w, stride_w, 1);
    p->output.c = input.c;
    if (p->output.h <= 0 || p->output.w <= 0) return KWS_ERROR_ARGUMENT;
    p->filter_h = filter_h;
    p->filter_w = filter_w;
    p->stride_h = stride_h;
    p->stride_w = stride_w;
    p->pad_h = padding == KWS_PADDING_SAME ? kws_leading_padding(input.h, p->output.h, filter_h, stride_h, 1) : 0;
    p->pad_w = padding == KWS_PADDING_SAME ? kws_leading_padding(input.w, p->output.w, filter_w, stride_w, 1) : 0;
    p->act_min = act_min;
    p->act_max = act_max;
    return KWS_OK;
}

int kws_max_pool_init(kws_pool_params *p, kws_dims input, int32_t filter_h, int32_t filter_w, int32_t stride_h,
                      int32_t stride_w, kws_padding padding, int32_t act_min, int32_t act_max)
{
    return kws_avg_pool_init(p, input, filter_h, filter_w, stride_h, stride_w, padding, act_min, act_max);
}

static int8_t requantize(int32_t acc, int32_t multiplier, int32_t shift, int32_t rounding, int32_t offset,
                         int32_t lo, int32_t hi)
{
    acc = rounding == KWS_ROUNDING_SINGLE ? kws_multiply_by_quantized_multiplier(acc, multiplier, shift)
                                          : kws_multiply_by_quantized_multiplier_double(acc, multiplier, shift);
    acc = add32(acc, offset);
    return (int8_t)clamp32(acc, lo, hi);
}

int kws_conv_s8(const kws_conv_params *p, const int8_t *input, const int8_t *filter, const int32_t *bias,
                int8_t *output)
{
    int32_t b, oy, ox, oc, fy, fx, ic;
    const kws_dims in = p->input, f = p->filter, out = p->output;
    if (input == NULL || filter == NULL || output == NULL) return KWS_ERROR_ARGUMENT;
    for (b = 0; b < out.n; ++b) {
        for (oy = 0; oy < out.h; ++oy) {
            const int32_t y0 = oy * p->stride_h - p->pad_h;
            for (ox = 0; ox < out.w; ++ox) {
                const int32_t x0 = ox * p->stride_w - p->pad_w;
                for (oc = 0; oc < out.c; ++oc) {
                    int32_t acc = 0;
                    for (fy = 0; fy < f.h; ++fy) {
                        const int32_t iy = y0 + p->dilation_h * fy;
                        if (iy < 0 || iy >= in.h) continue;
                        for (fx = 0; fx < f.w; ++fx) {
                            const int32_t ix = x0 + p->dilation_w * fx;
                            const int8_t *ip, *fp;
                            if (ix < 0 || ix >= in.w) continue;
                            ip = input + (((size_t)b * in.h + iy) * in.w + ix) * in.c;
                            fp = filter + (((size_t)oc * f.h + fy) * f.w + fx) * f.c;
                            for (ic = 0; ic < in.c; ++ic)
                                acc = add32(acc, (int32_t)fp[ic] * ((int32_t)ip[ic] + p->input_offset));
                        }
                    }
                    if (bias != NULL) acc = add32(acc, bias[oc]);
                    output[(((size_t)b * out.h + oy) * out.w + ox) * out.c + oc] =
                        requantize(acc, p->multipliers[oc], p->shifts[oc], p->rounding, p->output_offset,
                                   p->act_min, p->act_max);
                }
            }
        }
    }
    return KWS_OK;
}

int kws_depthwise_conv_s8(const kws_conv_params *p, const int8_t *input, const int8_t *filter,
                          const int32_t *bias, int8_t *output)
{
    int32_t b, oy, ox, ic, m, fy, fx;
    const kws_dims in = p->input, f = p->filter, out = p->output;
    if (input == NULL || filter == NULL || output == NULL) return KWS_ERROR_ARGUMENT;
    for (b = 0; b < out.n; ++b) {
        for (oy = 0; oy < out.h; ++oy) {
            const int32_t y0 = oy * p->stride_h - p->pad_h;
            for (ox = 0; ox < out.w; ++ox) {
                const int32_t x0 = ox * p->stride_w - p->pad_w;
                for (ic = 0; ic < in.c; ++ic) {
                    for (m = 0; m < p->depth_multiplier; ++m) {
                        const int32_t oc = ic * p->depth_multiplier + m;
                        int32_t acc = 0;
                        for (fy = 0; fy < f.h; ++fy) {
                            const int32_t iy = y0 + p->dilation_h * fy;
                            if (iy < 0 || iy >= in.h) continue;
                            for (fx = 0; fx < f.w; ++fx) {
                                const int32_t ix = x0 + p->dilation_w * fx;
                                int32_t iv, fv;
                                if (ix < 0 || ix >= in.w) continue;
                                iv = input[(((size_t)b * in.h + iy) * in.w + ix) * in.c + ic];
                                fv = filter[((size_t)fy * f.w + fx) * f.c + oc];
                                acc = add32(acc, fv * (iv + p->input_offset));
                            }
                        }
                        if (bias != NULL) acc = add32(acc, bias[oc]);
                        output[(((size_t)b * out.h + oy) * out.w + ox) * out.c + oc] = requantize(
                            acc, p->multipliers[oc], p->shifts[oc], p->rounding, p->output_offset,
                            p->act_min, p->act_max);
                    }
                }
            }
        }
    }
    return KWS_OK;
}

/* The input rows (or columns) [*start, *end) under output position `o` of a pooling window:
 * the window clipped to the input, so padding never counts (as in the reference kernels). */
static void pool_window(int32_t o, int32_t stride, int32_t pad, int32_t filter, int32_t size, int32_t *start,
                        int32_t *end)
{
    const int32_t first = o * stride - pad;
    *start = first < 0 ? 0 : first;
    *end = first + filter < size ? first + filter : size;
}

int kws_avg_pool_s8(const kws_pool_params *p, const int8_t *input, int8_t *output)
{
    int32_t b, oy, ox, c, y, x;
    const kws_dims in = p->input, out = p->output;
    if (input == NULL || output == NULL) return KWS_ERROR_ARGUMENT;
    for (b = 0; b < out.n; ++b) {
        for (oy = 0; oy < out.h; ++oy) {
            int32_t ys, ye, xs, xe;
            pool_window(oy, p->stride_h, p->pad_h, p->filter_h, in.h, &ys, &ye);
            for (ox = 0; ox < out.w; ++ox) {
                pool_window(ox, p->stride_w, p->pad_w, p->filter_w, in.w, &xs, &xe);
                const int32_t count = (ye - ys) * (xe - xs);
                if (count <= 0) return KWS_ERROR_ARGUMENT; /* the reference kernel fails here too */
                for (c = 0; c < in.c; ++c) {
                    int32_t sum = 0, average;
                    for (y = ys; y < ye; ++y)
                        for (x = xs; x < xe; ++x) sum += input[(((size_t)b * in.h + y) * in.w + x) * in.c + c];
                    /* C99 division truncates toward zero, as the reference kernel's does. */
                    average = sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
                    output[(((size_t)b * out.h + oy) * out.w + ox) * out.c + c] =
                        (int8_t)clamp32(average, p->act_min, p->act_max);
                }
            }
        }
    }
    return KWS_OK;
}

int kws_max_pool_s8(const kws_pool_params *p, const int8_t *input, int8_t *output)
{
    int32_t b, oy, ox, c, y, x;
    const kws_dims in = p->input, out = p->output;
    if (input == NULL || output == NULL) return KWS_ERROR_ARGUMENT;
    for (b = 0; b < out.n; ++b) {
        for (oy = 0; oy < out.h; ++oy) {
            int32_t ys, ye, xs, xe;
            pool_window(oy, p->stride_h, p->pad_h, p->filter_h, in.h, &ys, &ye);
            for (ox = 0; ox < out.w; ++ox) {
                pool_window(ox, p->stride_w, p->pad_w, p->filter_w, in.w, &xs, &xe);
                for (c = 0; c < in.c; ++c) {
                    /* An empty window gives -128 before the clamp, as the reference kernel does. */
                    int32_t max = -128;
                    for (y = ys; y < ye; ++y) {
                        for (x = xs; x < xe; ++x) {
                            const int32_t v = input[(((size_t)b * in.h + y) * in.w + x) * in.c + c];
                            if (v > max) max = v;
                        }
                    }
                    output[(((size_t)b * out.h + oy) * out.w + ox) * out.c + c] =
                        (int8_t)clamp32(max, p->act_min, p->act_max);
                }
            }
        }
    }
    return KWS_OK;
}

int kws_fully_connected_s8(const kws_fc_params *p, const int8_t *input, const int8_t *weights,
                           const int32_t *bias, int8_t *output)
{
    int32_t b, u, d;
    if (input == NULL || weights == NULL || output == NULL) return KWS_ERROR_ARGUMENT;
    for (b = 0; b < p->batches; ++b) {
        const int8_t *row = input + (size_t)b * p->depth;
        for (u = 0; u < p->units; ++u) {
            const int8_t *w = weights + (size_t)u * p->depth;
            const int32_t k = p->per_channel ? u : 0;
            int32_t acc = 0;
            for (d = 0; d < p->depth; ++d) acc = add32(acc, (int32_t)w[d] * ((int32_t)row[d] + p->input_offset));
            if (bias != NULL) acc = add32(acc, bias[u]);
            output[(size_t)b * p->units + u] =
                requantize(acc, p->multipliers[k], p->shifts[k], p->rounding, p->output_offset, p->act_min, p->act_max);
        }
    }
    return KWS_OK;
}

/* ------------------------------------------------------------------ softmax fixed point */

/* gemmlowp SaturatingRoundingDoublingHighMul. */
static int32_t srdhm(int32_t a, int32_t b)
{
    const int64_t ab = (int64_t)a * (int64_t)b;
    const int64_t nudge = ab >= 0 ? ((int64_t)1 << 30) : (1 - ((int64_t)1 << 30));
    if (a == KWS_INT32_MIN && b == KWS_INT32_MIN) return KWS_INT32_MAX;
    return (int32_t)((ab + nudge) / ((int64_t)1 << 31)); /* division truncates toward zero */
}

/* gemmlowp RoundingDivideByPOT: x / 2^exponent, ties away from zero; 0 <= exponent <= 31. */
static int32_t rounding_divide_by_pot(int32_t x, int exponent)
{
    const int64_t mask = ((int64_t)1 << exponent) - 1;
    const int64_t remainder = (int64_t)x & mask;
    const int64_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (int32_t)(((int64_t)x >> exponent) + (remainder > threshold ? 1 : 0));
}

/* gemmlowp SaturatingRoundingMultiplyByPOT for a positive exponent. */
static int32_t saturating_shift_left(int32_t x, int exponent)
{
    const int32_t threshold = (int32_t)(((int64_t)1 << (31 - exponent)) - 1);
    if (x > threshold) return KWS_INT32_MAX;
    if (x < -threshold) return KWS_INT32_MIN;
    return (int32_t)((uint32_t)x << exponent);
}

#define KWS_SCALED_DIFF_INTEGER_BITS 5
#define KWS_ACCUMULATION_INTEGER_BITS 12

/* exp(a) for a in [-1/4, 0), a and result in Q0.31. */
static int32_t exp_on_interval_quarter(int32_t a)
{
    const int32_t exp_minus_one_eighth = 1895147668;
    const int32_t one_third = 715827883;
    const int32_t x = add32(a, (int32_t)1 << 28);
    const int32_t x2 = srdhm(x, x);
    const int32_t x3 = srdhm(x2, x);
    const int32_t x4 = srdhm(x2, x2);
    const int32_t x4_over_4 = rounding_divide_by_pot(x4, 2);
    const int32_t poly = rounding_divide_by_pot(add32(srdhm(add32(x4_over_4, x3), one_third), x2), 1);
    return add32(exp_minus_one_eighth, srdhm(exp_minus_one_eighth, add32(x, poly)));
}

/* exp(a) for a <= 0 in Q5.26; result in Q0.31. */
static int32_t exp_on_negative_values(int32_t a)
{
    static const int32_t barrel[7] = {1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242};
    const int fractional_bits = 31 - KWS_SCALED_DIFF_INTEGER_BITS;
    const int32_t quarter = (int32_t)1 << (fractional_bits - 2);
    const int32_t mod_quarter_minus_quarter = sub32(a & (quarter - 1), quarter);
    int32_t result = exp_on_interval_quarter(saturating_shift_left(mod_quarter_minus_quarter,
                                                                   KWS_SCALED_DIFF_INTEGER_BITS));
    const int32_t remainder = sub32(mod_quarter_minus_quarter, a);
    int k;
    for (k = -2; k <= 4; ++k) {
        if (KWS_SCALED_DIFF_INTEGER_BITS > k) {
            const int32_t bit = (int32_t)1 << (fractional_bits + k);
            if (remainder & bit) result = srdhm(result, barrel[k + 2]);
        }
    }
    return a == 0 ? KWS_INT32_MAX : result;
}

/* 1 / (1 + a) for a in [0, 1) in Q0.31, Newton-Raphson in Q2.29; result Q0.31. */
static int32_t one_over_one_plus_x(int32_t a)
{
    const int64_t total = (int64_t)a + KWS_INT32_MAX;
    const int32_t half_denominator = (int32_t)(total >= 0 ? (total + 1) / 2 : -((-total + 1) / 2));
    const int32_t one_q2_29 = (int32_t)1 << 29;
    int32_t x = add32(1515870810, srdhm(half_denominator, -1010580540));
    int i;
    for (i = 0; i < 3; ++i) {
        const int32_t product = srdhm(half_denominator, x);
        const int32_t correction = saturating_shift_left(srdhm(x, sub32(one_q2_29, product)), 2);
        x = add32(x, correction);
    }
    return saturating_shift_left(x, 1);
}

static int leading_zeros32(uint32_t x)
{
    int n = 0;
    if (x == 0) return 32;
    while (!(x & 0x80000000u)) {
        x <<= 1;
        ++n;
    }
    return n;
}

int kws_softmax_s8(const kws_softmax_params *p, const int8_t *input, int8_t *output)
{
    int32_t r, i;
    if (input == NULL || output == NULL || p->depth <= 0) return KWS_ERROR_ARGUMENT;
    for (r = 0; r < p->rows; ++r) {
        const int8_t *in = input + (size_t)r * p->depth;
        int8_t *out = output + (size_t)r * p->depth;
        int32_t max = in[0], sum_of_exps = 0, headroom_plus_one, num_bits_over_unit, shifted_minus_one, scale;
        for (i = 1; i < p->depth; ++i)
            if (in[i] > max) max = in[i];
        for (i = 0; i < p->depth; ++i) {
            const int32_t diff = (int32_t)in[i] - max;
            if (diff >= p->diff_min) {
                const int32_t rescaled = srdhm((int32_t)((uint32_t)diff << p->input_left_shift), p->input_multiplier);
                sum_of_exps = add32(sum_of_exps, rounding_divide_by_pot(exp_on_negative_values(rescaled),
                                                                        KWS_ACCUMULATION_INTEGER_BITS));
            }
        }
        headroom_plus_one = leading_zeros32((uint32_t)sum_of_exps);
        if (headroom_plus_one >= 32) return KWS_ERROR_ARGUMENT; /* cannot happen: the max contributes */
        num_bits_over_unit = KWS_ACCUMULATION_INTEGER_BITS - headroom_plus_one;
        shifted_minus_one = (int32_t)(((uint32_t)sum_of_exps << headroom_plus_one) - 0x80000000u);
        scale = one_over_one_plus_x(shifted_minus_one);
        for (i = 0; i < p->depth; ++i) {
            const int32_t diff = (int32_t)in[i] - max;
            if (diff >= p->diff_min) {
                const int32_t rescaled = srdhm((int32_t)((uint32_t)diff << p->input_left_shift), p->input_multiplier);
                const int32_t exp = exp_on_negative_values(rescaled);
                const int32_t unsaturated = rounding_divide_by_pot(srdhm(scale, exp), num_bits_over_unit + 31 - 8);
                out[i] = (int8_t)clamp32(add32(unsaturated, -128), -128, 127);
            } else {
                out[i] = -128;
            }
        }
    }
    return KWS_OK;
}
