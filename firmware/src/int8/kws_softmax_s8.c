/*
 * kws_softmax_s8.c - SOFTMAX (gemmlowp's fixed point), equal to LiteRT's BUILTIN_REF kernel.
 * See kws_int8_ops.h for the conventions.
 */
#include "kws_int8_internal.h"

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
