/*
 * kws_int8_quantize.c - the requantisation functions of kws_int8_ops.h (the single rounding is
 * also inline for the kernels: kws_int8_internal.h).
 */
#include "kws_int8_internal.h"

int32_t kws_multiply_by_quantized_multiplier(int32_t x, int32_t multiplier, int32_t shift)
{
    return multiply_single(x, multiplier, shift);
}

/* gemmlowp's two roundings. */
int32_t kws_multiply_by_quantized_multiplier_double(int32_t x, int32_t multiplier, int32_t shift)
{
    const int left_shift = shift > 0 ? shift : 0;
    const int right_shift = shift > 0 ? 0 : -shift;
    /* x * 2^left_shift wraps in int32, as the reference kernels' int32 product does. */
    return rounding_divide_by_pot(srdhm((int32_t)((uint32_t)x << left_shift), multiplier), right_shift);
}
