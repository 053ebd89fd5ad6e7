/*
 * kws_avg_pool_s8_dsp.c - AVERAGE_POOL_2D with the DSP extension, integer-for-integer
 * equal to the plain kernel. See kws_int8_ops_dsp.h for what is specialised,
 * kws_int8_dsp_internal.h for how.
 */
#include "kws_int8_dsp_internal.h"

#if !KWS_USE_DSP

/* No DSP extension: the plain kernel. */
int kws_avg_pool_s8_dsp(const kws_pool_params *p, const int8_t *input, int8_t *output)
{
    return kws_avg_pool_s8(p, input, output);
}

#else /* KWS_USE_DSP */

/* ------------------------------------------------------------------ AVERAGE_POOL_2D */

int kws_avg_pool_s8_dsp(const kws_pool_params *p, const int8_t *input, int8_t *output)
{
    int32_t b, oy, ox, c, y, x;
    const kws_dims in = p->input, out = p->output;
    /* int16 lane sums hold up to 256 int8 values. */
    if (p == NULL || input == NULL || output == NULL || p->filter_h * p->filter_w > 256)
        return kws_avg_pool_s8(p, input, output);
    for (b = 0; b < out.n; ++b) {
        for (oy = 0; oy < out.h; ++oy) {
            const int32_t y0 = oy * p->stride_h - p->pad_h;
            const int32_t ys = y0 < 0 ? 0 : y0;
            const int32_t ye = y0 + p->filter_h < in.h ? y0 + p->filter_h : in.h;
            for (ox = 0; ox < out.w; ++ox) {
                const int32_t x0 = ox * p->stride_w - p->pad_w;
                const int32_t xs = x0 < 0 ? 0 : x0;
                const int32_t xe = x0 + p->filter_w < in.w ? x0 + p->filter_w : in.w;
                const int32_t count = (ye - ys) * (xe - xs);
                int8_t *o = output + (((size_t)b * out.h + oy) * out.w + ox) * out.c;
                int32_t sums[4];
                if (count <= 0) return KWS_ERROR_ARGUMENT; /* as the reference kernel */
                for (c = 0; c < in.c; c += 4) {
                    const int32_t lanes = in.c - c < 4 ? in.c - c : 4;
                    int32_t k;
                    if (lanes == 4) {
                        int32_t s02 = 0, s13 = 0;
                        for (y = ys; y < ye; ++y) {
                            const int8_t *ip = input + (((size_t)b * in.h + y) * in.w + xs) * in.c + c;
                            for (x = xs; x < xe; ++x, ip += in.c) {
                                const int32_t v = load4(ip);
                                s02 = __sxtab16(s02, v);
                                s13 = sxtab16_ror8(s13, v);
                            }
                        }
                        sums[0] = (int16_t)(s02 & 0xFFFF);
                        sums[1] = (int16_t)(s13 & 0xFFFF);
                        sums[2] = s02 >> 16;
                        sums[3] = s13 >> 16;
                    } else {
                        for (k = 0; k < lanes; ++k) {
                            sums[k] = 0;
                            for (y = ys; y < ye; ++y)
                                for (x = xs; x < xe; ++x)
                                    sums[k] += input[(((size_t)b * in.h + y) * in.w + x) * in.c + c + k];
                        }
                    }
                    for (k = 0; k < lanes; ++k) {
                        const int32_t sum = sums[k];
                        /* C99 division truncates toward zero, as the reference kernel's does. */
                        const int32_t average = sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
                        o[c + k] = (int8_t)(average < p->act_min ? p->act_min
                                                                 : (average > p->act_max ? p->act_max : average));
                    }
                }
            }
        }
    }
    return KWS_OK;
}

#endif /* KWS_USE_DSP */
