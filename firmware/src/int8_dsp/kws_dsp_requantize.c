/*
 * kws_dsp_requantize.c - whether this build uses the DSP extension, the DSP kernels'
 * requantisation exported for tests (kws_int8_ops_dsp.h), and the check of its precondition the
 * convolutions share (one copy, called once per channel and call).
 */
#include "kws_int8_dsp_internal.h"

int kws_dsp_enabled(void) { return KWS_USE_DSP; }

int32_t kws_dsp_requantize(int32_t acc, int32_t multiplier, int32_t shift, int32_t rounding)
{
    kws_rq r;
    if (rounding == KWS_ROUNDING_SINGLE) return requant_single(acc, multiplier, shift);
    r = rq_make(multiplier, shift, 0, -128, 127);
    return rq_value(&r, acc);
}

#if KWS_USE_DSP

/* See kws_int8_dsp_internal.h. */
int kws_dsp_rq_bound_ok(const kws_conv_params *p, int32_t channel, int32_t bias, int32_t weight_abs_sum)
{
    const int64_t off = p->input_offset;
    const int64_t x_max = (off - 128 < 0 ? 128 - off : off - 128) > (off + 127 < 0 ? -off - 127 : off + 127)
                              ? (off - 128 < 0 ? 128 - off : off - 128)
                              : (off + 127 < 0 ? -off - 127 : off + 127);
    const int32_t left = p->shifts[channel] > 0 ? p->shifts[channel] : 0;
    const int64_t bound = (bias < 0 ? -(int64_t)bias : (int64_t)bias) + x_max * weight_abs_sum;
    return left <= 30 && bound < ((int64_t)1 << (30 - left));
}

#endif /* KWS_USE_DSP */
