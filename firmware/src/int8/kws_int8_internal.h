/*
 * kws_int8_internal.h - what the plain int8 kernels of this directory share (one kernel per file,
 * as CMSIS-NN has them): wrapping int32 arithmetic, gemmlowp's fixed point and the
 * requantisation, inline so that each kernel's inner loop has them at hand.
 * Private to firmware/src/int8/; the kernels' interface is kws_int8_ops.h.
 */
#ifndef KWS_INT8_INTERNAL_H
#define KWS_INT8_INTERNAL_H

#include "kws_int8_ops.h"

#include <stddef.h>

#define KWS_INT32_MIN ((int32_t)(-2147483647 - 1))
#define KWS_INT32_MAX ((int32_t)2147483647)

static inline int32_t clamp32(int32_t x, int32_t lo, int32_t hi) { return x < lo ? lo : (x > hi ? hi : x); }

/* Two's-complement wrapping add/sub, as the reference kernels' int32 arithmetic does. */
static inline int32_t add32(int32_t a, int32_t b) { return (int32_t)((uint32_t)a + (uint32_t)b); }
static inline int32_t sub32(int32_t a, int32_t b) { return (int32_t)((uint32_t)a - (uint32_t)b); }

/* gemmlowp SaturatingRoundingDoublingHighMul. */
static inline int32_t srdhm(int32_t a, int32_t b)
{
    const int64_t ab = (int64_t)a * (int64_t)b;
    const int64_t nudge = ab >= 0 ? ((int64_t)1 << 30) : (1 - ((int64_t)1 << 30));
    if (a == KWS_INT32_MIN && b == KWS_INT32_MIN) return KWS_INT32_MAX;
    return (int32_t)((ab + nudge) / ((int64_t)1 << 31)); /* division truncates toward zero */
}

/* gemmlowp RoundingDivideByPOT: x / 2^exponent, ties away from zero; 0 <= exponent <= 31. */
static inline int32_t rounding_divide_by_pot(int32_t x, int exponent)
{
    const int64_t mask = ((int64_t)1 << exponent) - 1;
    const int64_t remainder = (int64_t)x & mask;
    const int64_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (int32_t)(((int64_t)x >> exponent) + (remainder > threshold ? 1 : 0));
}

/* kws_multiply_by_quantized_multiplier: one 64-bit rounding. The kernels inline it; the double
 * rounding (kws_int8_quantize.c) is called, one copy for all of them, as in the single-file build
 * the instruction counts were measured with. */
static inline int32_t multiply_single(int32_t x, int32_t multiplier, int32_t shift)
{
    const int total_shift = 31 - shift; /* 1..62 for shift in [-31, 30] */
    const int64_t round = (int64_t)1 << (total_shift - 1);
    const int64_t result = ((int64_t)x * (int64_t)multiplier + round) >> total_shift;
    return (int32_t)result;
}

/* The output of an accumulator: requantised, offset and clamped. */
static inline int8_t requantize(int32_t acc, int32_t multiplier, int32_t shift, int32_t rounding,
                                int32_t offset, int32_t lo, int32_t hi)
{
    acc = rounding == KWS_ROUNDING_SINGLE ? multiply_single(acc, multiplier, shift)
                                          : kws_multiply_by_quantized_multiplier_double(acc, multiplier, shift);
    acc = add32(acc, offset);
    return (int8_t)clamp32(acc, lo, hi);
}

/* The input rows (or columns) [*start, *end) under output position `o` of a pooling window:
 * the window clipped to the input, so padding never counts (as in the reference kernels). */
static inline void pool_window(int32_t o, int32_t stride, int32_t pad, int32_t filter, int32_t size,
                               int32_t *start, int32_t *end)
{
    const int32_t first = o * stride - pad;
    *start = first < 0 ? 0 : first;
    *end = first + filter < size ? first + filter : size;
}

#endif /* KWS_INT8_INTERNAL_H */
