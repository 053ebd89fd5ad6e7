/*
 * kws_depthwise_conv_s8.c - DEPTHWISE_CONV_2D, equal to LiteRT's BUILTIN_REF kernel.
 * See kws_int8_ops.h for the conventions.
 */
#include "kws_int8_internal.h"

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
